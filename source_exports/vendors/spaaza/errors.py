"""Turns a failed Services API response into the connector's error taxonomy.

Spaaza publishes the *texts* of its task errors but not the HTTP codes they come with, so the
task-specific errors are recognised by message text whatever the status is; only 401/403
(credentials) and 404 (no such task or route) are classified by status.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import requests

from source_exports.errors import (
    AuthError,
    ConfigError,
    ExportsError,
    TransientError,
    VendorJobFailed,
    error_for_status,
)

VENDOR = "Spaaza"

# The texts Spaaza documents for the errors of `GET /tasks/{id}/download_url`, lower-cased.
NOT_DONE = "task status is not done"
NOT_AN_EXPORT = "invalid task type: only export tasks actions are allowed"
INVALID_RESULT = "the task completed successfully, but contains an invalid result"
NOT_FOUND_TEXTS = ("task not found", "no task exists")

MAX_DETAIL_CHARS = 300


class TaskNotDone(TransientError):
    """Spaaza says the task is not DONE yet: waiting and asking again fixes it."""


def vendor_message(response: requests.Response) -> str:
    """The most specific human text in an error body: JSON `message`/`error`/`errors[]`, else raw text."""
    text = response.text or ""
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:MAX_DETAIL_CHARS]
    found = _find_message(body)
    return (found if found is not None else text.strip())[:MAX_DETAIL_CHARS]


def _find_message(body: Any) -> Optional[str]:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        texts = [text for text in (_find_message(item) for item in body) if text]
        return "; ".join(texts) or None
    if isinstance(body, dict):
        for key in ("message", "error", "errors", "description", "detail", "error_message", "msg"):
            if key in body:
                found = _find_message(body[key])
                if found:
                    return found
    return None


def request_id_of(response: requests.Response) -> Optional[str]:
    for header in ("X-Request-Id", "X-Request-ID", "X-Amzn-Trace-Id", "X-Correlation-Id"):
        if response.headers.get(header):
            return response.headers[header]
    return None


def classify_error(
    response: requests.Response, what: str, task_id: Optional[int] = None, stream: Optional[str] = None
) -> ExportsError:
    """The error to raise for a failed call; `what` names the call (e.g. "GET /tasks/12/download_url")."""
    status = response.status_code
    message = vendor_message(response)
    lowered = message.lower()
    context = {"vendor": VENDOR, "stream": stream, "job_id": task_id, "request_id": request_id_of(response)}
    said = f"Spaaza answered HTTP {status} to {what}: {message or '(empty body)'}"
    if NOT_DONE in lowered:
        return TaskNotDone(
            said, hint="The task is still running (or was restarted); wait for it to reach DONE and retry", **context
        )
    if NOT_AN_EXPORT in lowered:
        return ConfigError(
            said,
            hint=f"Task {task_id} is not an export task; only tasks whose target.action is 'export' have files",
            **context,
        )
    if INVALID_RESULT in lowered:
        return VendorJobFailed(
            said,
            hint=f"Task {task_id} finished without a usable result file; re-run the export in Spaaza's console "
            "or contact Spaaza support with the task id",
            state="DONE",
            **context,
        )
    if status in (401, 403):
        return AuthError(
            f"Spaaza token rejected (HTTP {status} to {what}): {message or '(empty body)'}",
            hint="Check spaaza.access_token_id and spaaza.access_token_secret: they must be a privileged, "
            "chain-scoped Services API token for spaaza.chain_id",
            **context,
        )
    if status == 404 or any(text in lowered for text in NOT_FOUND_TEXTS):
        subject = f"Task {task_id} was not found" if task_id is not None else "Not found"
        return ConfigError(
            f"{subject} ({said})",
            hint="Check spaaza.chain_id and spaaza.services_api_url (the hostname Spaaza gave you); "
            "a deleted task cannot be downloaded",
            **context,
        )
    if status == 429 or status >= 500:
        return TransientError(said, hint="Spaaza kept failing after retries; the sync can be retried later", **context)
    return error_for_status(status)(said, hint="This request was refused; the message above is Spaaza's own", **context)
