"""PostHog: batch exports, runs, logs and on-demand file downloads. See docs/vendors/posthog.md."""

from source_exports.vendors.posthog.vendor import VENDOR

__all__ = ["VENDOR"]
