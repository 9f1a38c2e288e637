"""The `source-exports` console command: the Airbyte protocol on stdin/stdout.

Two things differ from the CDK's stock `launch`:
- records keep top-level `null` values (the stock serializer drops them, and a null column
  and a missing column mean different things in a warehouse);
- tracebacks never reach log lines; they stay in the TRACE error's `stack_trace` field.
"""

from __future__ import annotations

import logging
import sys
from typing import List, Optional

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, Type

from source_exports.source import SourceExports


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
    """The CDK entrypoint with null-preserving record serialisation."""

    @staticmethod
    def airbyte_message_to_string(airbyte_message: AirbyteMessage) -> str:
        if airbyte_message.type != Type.RECORD or airbyte_message.record is None:
            return AirbyteEntrypoint.airbyte_message_to_string(airbyte_message)
        serialized = AirbyteMessageSerializer.dump(airbyte_message)
        serialized["record"]["data"] = airbyte_message.record.data
        return orjson.dumps(serialized, default=str).decode()


def launch(args: List[str]) -> None:
    """Run one protocol command and print its messages, one JSON line each."""
    entrypoint = ExportsEntrypoint(SourceExports())
    install_no_traceback_filter()
    parsed = entrypoint.parse_args(args)
    for message in entrypoint.run(parsed):
        sys.stdout.write(message + "\n")
    sys.stdout.flush()


def run(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point."""
    launch(sys.argv[1:] if argv is None else argv)
