"""Classifies SourceCraft API failures into the connector's error taxonomy.

Every 4xx/5xx from SourceCraft carries `{"error_code", "message", "request_id", "details"}`; the
user sees SourceCraft's own `message` and the `request_id` to quote to SourceCraft support.
Retries (429, 5xx) already happened in the session when a response reaches this module.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import requests

from source_exports.errors import AuthError, ConfigError, DownloadError, TransientError, error_for_status

VENDOR = "SourceCraft"


class SourceCraftNotFound(ConfigError):
    """SourceCraft answered 404: the repository, run or cube does not exist (or the token cannot see it)."""


class SourceCraftNoDownloadUrl(DownloadError):
    """SourceCraft listed an artifact without a download URL, or no longer lists it when asked for a fresh one."""


def error_body(response: requests.Response) -> Mapping[str, Any]:
    """SourceCraft's JSON error body, or a stand-in built from the raw text when it is not JSON."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"message": (response.text or "").strip()[:300] or f"HTTP {response.status_code}"}


def raise_for_response(response: requests.Response, action: str, stream: Optional[str] = None) -> None:
    """Raise the error matching a failed response; `action` says what we were doing ("list runs")."""
    status = response.status_code
    if status < 400:
        return
    body = error_body(response)
    code = body.get("error_code")
    text = f"SourceCraft could not {action}: HTTP {status}{f' {code}' if code else ''}: {body.get('message', '')}"
    context = {"vendor": VENDOR, "stream": stream, "request_id": body.get("request_id")}
    if status == 401:
        raise AuthError(
            text,
            hint="The personal access token is wrong or expired; create a new one in SourceCraft "
            "(Profile → Personal access tokens) and update api_token",
            **context,
        )
    if status == 403:
        raise AuthError(
            text,
            hint="The token's owner needs read access to the repository and its CI/CD runs",
            **context,
        )
    if status == 404:
        raise SourceCraftNotFound(
            text,
            hint="Check org_slug and repo_slug against the repository URL https://sourcecraft.dev/<org>/<repo>",
            **context,
        )
    if status == 429 or status >= 500:
        raise TransientError(text, hint="SourceCraft is busy or unavailable; the sync can be retried later", **context)
    raise error_for_status(status)(text, hint="Quote the request_id when you report this to SourceCraft", **context)
