"""The `source-exports` console command: the Airbyte protocol on stdin/stdout.

Three things differ from the CDK's stock `launch`:
- records keep top-level `null` values (the stock serializer drops them, and a null column
  and a missing column mean different things in a warehouse);
- `read` takes the batched record path (`fast_read`): the same RECORD lines, written many at once;
- tracebacks never reach log lines; they stay in the TRACE error's `stack_trace` field.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from typing import Callable, Iterable, List, Optional, Union

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.logger import is_platform_debug_log_enabled
from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, AirbyteStateType, Type
from airbyte_cdk.sources.connector_state_manager import HashableStreamDescriptor
from airbyte_cdk.sources.utils.schema_helpers import split_config
from airbyte_cdk.utils.constants import ENV_REQUEST_CACHE_PATH

from source_exports import cdk_seam
from source_exports.errors import ConfigError, to_traced_exception
from source_exports.fast_read import BatchMessage
from source_exports.source import SourceExports
from source_exports.spec_validation import validate_config


class NoTracebackFilter(logging.Filter):
    """Drops exception details from log records; the TRACE message carries the stack trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def install_no_traceback_filter() -> None:
    """Attach the filter to every handler of the root logger (where the CDK's handler lives)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, NoTracebackFilter) for existing in handler.filters):
            handler.addFilter(NoTracebackFilter())


class ExportsEntrypoint(AirbyteEntrypoint):
    """The CDK entrypoint with null-preserving record serialisation and batched records (`fast_read`)."""

    def run(self, parsed_args: argparse.Namespace) -> Iterable[Union[str, bytes, memoryview]]:
        """`read` as the CDK runs it, but serialised with *this* class's `airbyte_message_to_string`.

        The CDK's `run` calls `AirbyteEntrypoint.airbyte_message_to_string` by class name, which
        bypasses an override; every other command goes through the CDK unchanged. The copy is
        checked against the CDK's source (`cdk_seam.MIRRORED`).
        """
        if parsed_args.command != "read":
            yield from super().run(parsed_args)
            return
        if getattr(parsed_args, "debug", False) or is_platform_debug_log_enabled():
            self.logger.setLevel(logging.DEBUG)
            logging.getLogger("airbyte").setLevel(logging.DEBUG)
            self.logger.debug("Debug logs enabled")
        else:
            self.logger.setLevel(logging.INFO)
        source_spec = self.source.spec(self.logger)
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as temp_dir:
            os.environ[ENV_REQUEST_CACHE_PATH] = temp_dir
            try:
                config = self.source.configure(self.source.read_config(parsed_args.config), temp_dir)
                yield from map(self.airbyte_message_to_string, cdk_seam.entrypoint_queue(self))
                catalog = self.source.read_catalog(parsed_args.catalog)
                state = read_state_or_explain(self.source, parsed_args.state)
                yield from map(self.airbyte_message_to_string, self.read(source_spec, config, catalog, state))
            finally:
                yield from map(self.airbyte_message_to_string, cdk_seam.entrypoint_queue(self))

    def read(self, source_spec, config, catalog, state):  # noqa: ANN001 (CDK signature)
        """The CDK's read, with the source's streams read in batches (`fast_read`)."""
        self.source.read_in_batches = True
        try:
            yield from super().read(source_spec, config, catalog, state)
        finally:
            self.source.read_in_batches = False

    @staticmethod
    def validate_connection(source_spec, config) -> None:  # noqa: ANN001 (CDK signature)
        """Spec validation whose errors name the field (the CDK's do not)."""
        connector_config, _ = split_config(config)
        try:
            validate_config(connector_config, source_spec.connectionSpecification)
        except ConfigError as error:
            raise to_traced_exception(error) from None  # no ValidationError chain: it holds config values

    @staticmethod
    def handle_record_counts(message, stream_message_count):  # noqa: ANN001 (CDK signature)
        if isinstance(message, BatchMessage):
            stream_message_count[HashableStreamDescriptor(name=message.stream, namespace=message.namespace)] += len(
                message
            )
            return message
        return AirbyteEntrypoint.handle_record_counts(message, stream_message_count)

    @staticmethod
    def airbyte_message_to_string(airbyte_message: AirbyteMessage) -> Union[str, bytes, memoryview]:
        if isinstance(airbyte_message, BatchMessage):
            return airbyte_message.to_lines()
        if airbyte_message.type != Type.RECORD or airbyte_message.record is None:
            return AirbyteEntrypoint.airbyte_message_to_string(airbyte_message)
        serialized = AirbyteMessageSerializer.dump(airbyte_message)
        serialized["record"]["data"] = airbyte_message.record.data
        return orjson.dumps(serialized, default=str).decode()


def read_state_or_explain(source: SourceExports, path: Optional[str]) -> list:
    """The CDK's state reader, with a config error that says what is wrong instead of a schema dump.

    A state must be a JSON list of per-stream STATE messages; the legacy whole-file `{stream: state}`
    object of older connector versions, or any other shape, is refused with the fix named.
    """
    try:
        state = source.read_state(path)
    except Exception as error:  # the CDK raises schema/JSON errors of several types here
        kind = type(error).__name__
        raise state_error(f"The state file is not a list of per-stream Airbyte STATE messages ({kind})") from None
    kinds = sorted({message.type.name for message in state if message.type != AirbyteStateType.STREAM})
    if kinds:
        raise state_error(f"The state holds {', '.join(kinds)} state; this connector keeps per-stream (STREAM) state")
    return state


def state_error(message: str) -> Exception:
    """A config error for a state this connector cannot use, with what to do about it."""
    return to_traced_exception(
        ConfigError(
            message,
            field="--state",
            hint="It may come from an older version of the connector or another tool: reset this "
            "connection's state (or start without --state) so the next sync starts from start_date",
        )
    )


class OutputClosed(Exception):
    """Whoever reads the command's stdout closed it before the command ended (`source-exports spec | head -1`)."""


class StdoutWatch:
    """Notices a closed stdout, whether a message's write or a log line's meets it first.

    The CDK's log handler writes to stdout too; on a broken pipe `logging` would print a traceback
    to stderr for every later log line. Here the first one points stdout at /dev/null and is
    remembered instead, and `launch` ends the command after the message it is writing.
    """

    def __init__(self) -> None:
        self.closed = False
        for handler in logging.getLogger().handlers:
            if not isinstance(handler.handleError, _WatchedErrors):
                handler.handleError = _WatchedErrors(handler.handleError)  # type: ignore[method-assign]
            handler.handleError.watch = self

    def stdout_gone(self) -> None:
        """Point file descriptor 1 at /dev/null, so later writes and the final flush do not fail again."""
        if not self.closed:
            self.closed = True
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, sys.__stdout__.fileno())  # type: ignore[union-attr]
            finally:
                os.close(null)


class _WatchedErrors:
    """A log handler's `handleError` that hands a broken pipe to the command's `StdoutWatch`."""

    def __init__(self, handle_error: Callable[[logging.LogRecord], None]) -> None:
        self.handle_error = handle_error
        self.watch: Optional[StdoutWatch] = None

    def __call__(self, record: logging.LogRecord) -> None:
        if self.watch is not None and isinstance(sys.exc_info()[1], BrokenPipeError):
            self.watch.stdout_gone()
        else:
            self.handle_error(record)


def launch(args: List[str], source: Optional[SourceExports] = None) -> None:
    """Run one protocol command and print its messages, one JSON line each.

    A closed stdout ends the command (`OutputClosed`) once the streams have stopped, whatever they
    still print or log sent nowhere: nothing can be told to a reader that has gone.
    """
    watch = StdoutWatch()  # before the entrypoint, whose constructor logs
    entrypoint = ExportsEntrypoint(source if source is not None else SourceExports())
    install_no_traceback_filter()
    parsed = entrypoint.parse_args(args)
    out = sys.stdout.buffer
    messages = entrypoint.run(parsed)
    try:
        for message in messages:
            # one write per message: download threads may log concurrently (batches end in a newline)
            out.write((message + "\n").encode() if isinstance(message, str) else message)
            if watch.closed:
                break
        out.flush()
    except BrokenPipeError:
        watch.stdout_gone()
    if watch.closed:
        messages.close()
        raise OutputClosed("stdout was closed before the output ended; the command stopped")


def run(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point. A closed stdout is one line on stderr and exit status 1, not a traceback."""
    try:
        launch(sys.argv[1:] if argv is None else argv)
    except OutputClosed as closed:
        sys.stderr.write(f"source-exports: {closed}\n")
        raise SystemExit(1) from None
    exit_without_teardown()


def exit_without_teardown() -> None:
    """End a command that succeeded, once its output is flushed, skipping the interpreter's teardown.

    Freeing every module of airbyte-cdk, pyarrow, ... costs ~0.15 s of every command and leaves
    nothing behind that matters: streams and temporary files are closed by then, download threads
    have finished. A failing command raises before this and exits the ordinary way.
    """
    logging.shutdown()  # flushes every log handler
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
