"""Turns PostHog's error answers into the connector's error taxonomy.

PostHog answers errors in Django REST framework's shape, ``{"type", "code", "detail", "attr"}``:
a missing API-key scope is a 403 whose `detail` names the scope, an expired file download is a
400 whose `detail` says "has expired", too many running file downloads is a 429 with code
`too_many_concurrent_file_downloads`. Messages keep PostHog's own `detail` and request id.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import requests

from source_exports.errors import AuthError, ConfigError, ExportsError, TransientError, error_for_status
from source_exports.redact import strip_query

VENDOR = "PostHog"
READ_SCOPE = "batch_export:read"
WRITE_SCOPE = "batch_export:write"
CONCURRENCY_CODE = "too_many_concurrent_file_downloads"
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Amzn-Trace-Id", "CF-Ray")


class ExportExpired(TransientError):
    """A file-download export's files are gone (PostHog: 400 "has expired"); create it again."""


class TooManyConcurrentExports(TransientError):
    """PostHog runs too many file downloads for this team already (429); wait for one to finish."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **context: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **context)


def drf_error(response: requests.Response) -> Mapping[str, Any]:
    """The DRF error body as a dict (empty when the body is not JSON or not an object)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"detail": str(body)}


def detail_of(response: requests.Response) -> str:
    """PostHog's human-readable error text, or the start of the body."""
    body = drf_error(response)
    detail = body.get("detail") or body.get("error") or body.get("message")
    if detail:
        return str(detail)
    text = (response.text or "").strip()
    return text[:300] if text else response.reason or f"HTTP {response.status_code}"


def request_id_of(response: requests.Response) -> Optional[str]:
    for name in REQUEST_ID_HEADERS:
        if response.headers.get(name):
            return response.headers[name]
    return None


def retry_after_of(response: requests.Response) -> Optional[float]:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def classify(response: requests.Response, action: str, needs_write: bool = False) -> ExportsError:
    """The error for a failed PostHog answer; `action` says what we were doing ("list batch exports")."""
    status = response.status_code
    body = drf_error(response)
    detail = detail_of(response)
    context = {
        "vendor": VENDOR,
        "url": strip_query(response.url or ""),
        "request_id": request_id_of(response),
        "field": f"attr {body['attr']}" if body.get("attr") else None,
    }
    message = f"Could not {action}: HTTP {status}: {detail}"
    scopes = f"{READ_SCOPE} and {WRITE_SCOPE}" if needs_write else READ_SCOPE
    if status == 401:
        return AuthError(
            message,
            hint="Use a PostHog personal API key (it starts with phx_, not a project key phc_) that is still valid",
            **context,
        )
    if status == 403:
        if "scope" in detail.lower():
            return AuthError(
                message, hint=f"Give the personal API key the scope(s) {scopes} in PostHog's settings", **context
            )
        return AuthError(
            message,
            hint=f"The key's user must be a member of this organization/environment; the key needs {scopes}",
            **context,
        )
    if status == 404:
        return ConfigError(
            message,
            hint="Check posthog.organization_id, posthog.environment_id and posthog.api_url (US, EU or self-hosted)",
            **context,
        )
    if status == 400 and "expired" in detail.lower():
        return ExportExpired(message, hint="The export will be created again", **context)
    if status == 429:
        if body.get("code") == CONCURRENCY_CODE or CONCURRENCY_CODE in detail:
            return TooManyConcurrentExports(message, retry_after=retry_after_of(response), **context)
        return TransientError(message, hint="PostHog's rate limit was hit repeatedly; retry the sync later", **context)
    if status >= 500:
        return TransientError(message, hint="PostHog had a server error; the sync can be retried", **context)
    return error_for_status(status)(message, hint="PostHog refused the request; check the posthog settings", **context)
