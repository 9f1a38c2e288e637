"""Classifies Cargo's answers: `{"errorMessage", "reason"}` bodies become typed errors or signals.

Two reasons are not failures but answers the exporter acts on: `noRunsFound` (an empty
window) and `tooManyRuns` (the window holds more than one export may: split it). They are
`ExportsError`s too, so one that escapes still reads as a clear message.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import requests

from source_exports.errors import AuthError, ConfigError, ExportsError, TransientError, error_for_status
from source_exports.http import RETRYABLE_STATUSES
from source_exports.redact import strip_query

TOKEN_HINT = (
    "Check cargo.api_token: create a new API token in Cargo (Settings → API) and paste it without the 'Bearer ' prefix"
)


class NoRunsFound(ExportsError):
    """Cargo found no run matching the export's filters: an empty result, not a failure."""


class TooManyRuns(ExportsError):
    """The filters match more runs than one export may hold (10,000): narrow the window."""


def describe(response: requests.Response) -> str:
    """`HTTP 400 invalidBody: workflowUuid: …` — the status plus Cargo's reason and message."""
    reason, message = cargo_reason(response)
    text = f"HTTP {response.status_code}"
    if reason:
        text += f" {reason}"
    if message:
        text += f": {message}"
    return text


def cargo_reason(response: requests.Response) -> tuple:
    """Cargo's `(reason, errorMessage)`, or `("", first bytes of the body)` for a non-JSON answer."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if not isinstance(body, Mapping):
        return "", str(body)[:200]
    return str(body.get("reason") or ""), str(body.get("errorMessage") or body.get("message") or "")[:500]


def classify(response: requests.Response, context: Optional[Mapping[str, Any]] = None) -> ExportsError:
    """The error to raise for a failed Cargo response.

    `context` holds what the caller knows (`field` of the run_outputs entry, `stream`); it lands
    in the message so the user knows which configured export to fix.
    """
    context = dict(context or {})
    reason, _ = cargo_reason(response)
    status = response.status_code
    detail = describe(response)
    url = strip_query(response.url or "")
    request_id = response.headers.get("x-request-id") or response.headers.get("x-amzn-requestid")
    common = {"url": url, "request_id": request_id}
    if reason == "noRunsFound":
        return NoRunsFound(f"Cargo found no runs for these filters ({detail})", **common, **context)
    if reason == "tooManyRuns":
        return TooManyRuns(f"Too many runs for one export ({detail})", **common, **context)
    if status == 401:
        return AuthError(f"API token rejected ({detail})", hint=TOKEN_HINT, **common)
    if status == 403 and reason == "workspaceNotFound":
        return ConfigError(
            f"The workspace is not accessible with this token ({detail})",
            field="cargo.workspace_uuid",
            hint="Check cargo.workspace_uuid, or leave it empty to use the token's own workspace",
            **common,
        )
    if status == 403:
        return AuthError(
            f"The API token may not do this ({detail})",
            hint="Use a token of the workspace that owns the workflow, with access to orchestration",
            **common,
        )
    if status in (400, 404, 422):
        where = context.get("field")
        return ConfigError(
            f"Cargo refused the request ({detail})",
            hint=f"Check {where}: workflow_uuid, output_node_slug and the filters must exist in Cargo"
            if where
            else "Check the cargo block of the config",
            **common,
            **context,
        )
    if status in RETRYABLE_STATUSES:
        return TransientError(
            f"Cargo kept failing ({detail}) after retries",
            hint="Cargo may be rate limiting or having an outage; the sync can be retried later",
            **common,
            **context,
        )
    return error_for_status(status)(f"Unexpected answer from Cargo ({detail})", **common, **context)
