"""The connector's error taxonomy, and the one place errors become Airbyte failures.

Every error carries structured context (stream, vendor, file, row, field, request id) and a
hint saying what the user can do. `to_traced_exception` maps them to the CDK's failure types
(`config_error`, `transient_error`, `system_error`) at the single boundary in `source.py`.
"""

from __future__ import annotations

from typing import Any, Optional, Type

from airbyte_cdk.models import FailureType, StreamDescriptor
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_exports.redact import redact

_CONTEXT_ORDER = ("vendor", "stream", "file", "row", "field", "job_id", "state", "url", "request_id")


class ExportsError(Exception):
    """Base error: a message for the user, structured context, and an optional hint.

    >>> str(ConfigError("not a uuid", field="cargo.run_outputs[0].workflow_uuid"))
    'not a uuid (field: cargo.run_outputs[0].workflow_uuid)'
    """

    failure_type: FailureType = FailureType.system_error

    def __init__(self, message: str, *, hint: Optional[str] = None, **context: Any) -> None:
        self.message = message
        self.hint = hint
        self.context = {key: value for key, value in context.items() if value is not None}
        super().__init__(self.user_message)

    @property
    def user_message(self) -> str:
        """The message with its context and hint, secrets and signed-URL queries removed."""
        parts = [f"{key}: {self.context[key]}" for key in _CONTEXT_ORDER if key in self.context]
        parts += [f"{key}: {value}" for key, value in self.context.items() if key not in _CONTEXT_ORDER]
        text = self.message
        if parts:
            text += f" ({', '.join(parts)})"
        if self.hint:
            text += f". {self.hint}"
        return redact(text)


class ConfigError(ExportsError):
    """The user must change the configuration (or the vendor account) to fix this."""

    failure_type = FailureType.config_error


class AuthError(ConfigError):
    """The vendor rejected the credentials or their scope."""


class TransientError(ExportsError):
    """A temporary failure (rate limit, outage, dropped connection) that survived our retries."""

    failure_type = FailureType.transient_error


class DownloadError(TransientError):
    """A file could not be downloaded completely from storage."""


class StorageHostDown(DownloadError):
    """One storage host failed several files in a row: the stream stops instead of trying every other file."""


class CorruptFileError(TransientError):
    """A downloaded file's compressed bytes are damaged or cut short, even after downloading it again."""


class ErrorPageError(DownloadError):
    """The storage host answered with an error or login page where an export file was expected."""


class UnreadableAnswer(TransientError):
    """A vendor answered a body that is not JSON, or not the JSON shape its API documents.

    Proxies, captive portals, load balancers and outages answer this way and the next sync
    usually reads fine; a URL setting that points at the wrong host does too, so hints name it.
    """


class VendorJobFailed(ExportsError):
    """A vendor-side export job ended in a failed state; the vendor's own text is in `message`.

    The vendor's side failed, not the connector: transient (the next sync creates the job again),
    or a config error when the vendor says the account must change (`account=True`, e.g. billing).
    """

    failure_type = FailureType.transient_error

    def __init__(self, message: str, *, account: bool = False, hint: Optional[str] = None, **context: Any) -> None:
        if account:
            self.failure_type = FailureType.config_error
        super().__init__(message, hint=hint, **context)


class JobTimeout(TransientError):
    """An export job did not finish within the configured timeout."""


class RecordParseError(ExportsError):
    """A row in a downloaded file could not be parsed; names the file and row."""

    failure_type = FailureType.config_error


TRANSIENT_CLIENT_STATUSES = frozenset({408, 409, 425, 429})
"""4xx answers meaning "not now" rather than "not this": timeout, conflict, too early, rate limit."""


def error_for_status(status: int) -> Type[ExportsError]:
    """The error class for an HTTP error status that no rule of the vendor's `errors.py` names.

    One decision for every vendor: a 4xx is about this config or account (`ConfigError`) unless it
    means "not now" (`TRANSIENT_CLIENT_STATUSES`); a 5xx or anything else is the vendor's side
    (`TransientError`). Neither is a bug of the connector, so neither is `system_error`.
    """
    if 400 <= status < 500 and status not in TRANSIENT_CLIENT_STATUSES:
        return ConfigError
    return TransientError


def to_traced_exception(error: BaseException, stream: Optional[StreamDescriptor] = None) -> AirbyteTracedException:
    """Map any exception to the CDK's traced exception, keeping messages free of secrets."""
    if isinstance(error, AirbyteTracedException):
        return error
    stream_name = stream.name if stream else None
    if isinstance(error, ExportsError):
        message = error.user_message
        if stream_name and "stream" not in error.context:
            message = f"Stream '{stream_name}': {message}"
        return AirbyteTracedException(
            message=message,
            internal_message=redact(f"{type(error).__name__}: {message}"),
            failure_type=error.failure_type,
            exception=error,
            stream_descriptor=stream,
        )
    message = redact(f"Unexpected error{f' in stream {stream_name!r}' if stream_name else ''}: {error}")
    return AirbyteTracedException(
        message=message + ". This is a bug in the connector; please report it with the logs.",
        internal_message=message,
        failure_type=FailureType.system_error,
        exception=error,
        stream_descriptor=stream,
    )
