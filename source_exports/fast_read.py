"""The lean record path used by the `source-exports` command: batches in, RECORD lines out.

The CDK turns every row into an AirbyteMessage object, runs it through the transformer, the
record counter and the message serializer: ~15 µs per row, several times the cost of parsing
it. Under `ExportsEntrypoint` the read takes this path instead:

- `ExportsEntrypoint.read` sets `SourceExports.read_in_batches`, so
  `SourceExports.read_stream_messages` (called through `cdk_seam.SourceSeam`) hands each stream
  to `read_stream` below;
- `read_stream` asks the stream for batches (`ExportsStream.read(..., batches=True)`), so file-backed
  streams that yield `ExportFileReader.records(export, self.batches)` / `read_many(...)` give
  `RecordBatch`es of pre-encoded rows; it keeps the CDK's own `Stream.read` (slices, checkpoints, STATE
  after the rows of each slice) and `AbstractSource.read` (STARTED/COMPLETE/INCOMPLETE statuses,
  error traces classified by `SourceExports.traced_exception`), and only replaces the per-row
  work: a batch becomes one
  `BatchMessage`, which the entrypoint counts (`sourceStats.recordCount` on the next STATE) and
  writes as RECORD lines with a single join. Plain rows are grouped into batches the same way.

The stock `AirbyteEntrypoint` (CDK standard tests, `launch` from the CDK) never sets
`read_in_batches`: the CDK reads every stream itself, without asking for batches, so every
stream yields ordinary rows and the CDK path runs unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Iterator, List, Optional, Union

import orjson
from airbyte_cdk.models import AirbyteMessage, AirbyteStreamStatus, ConfiguredAirbyteStream
from airbyte_cdk.models import Type as MessageType
from airbyte_cdk.sources.streams.http import HttpStream
from airbyte_cdk.sources.utils.transform import TransformConfig
from airbyte_cdk.utils.stream_status_utils import as_airbyte_message as stream_status_as_airbyte_message

from source_exports import cdk_seam
from source_exports.download.batch import ROWS_PER_BATCH, RecordBatch


class BatchMessage:
    """A RECORD message for many rows of one stream; the entrypoint writes it as many lines."""

    type = MessageType.RECORD
    __slots__ = ("stream", "namespace", "batch", "emitted_at")

    def __init__(self, stream: str, namespace: Optional[str], batch: RecordBatch) -> None:
        self.stream = stream
        self.namespace = namespace
        self.batch = batch
        self.emitted_at = int(time.time() * 1000)

    def __len__(self) -> int:
        return len(self.batch)

    def to_lines(self) -> Union[bytes, memoryview]:
        """Every row inside the RECORD envelope, one JSON line each, newline-terminated (one write)."""
        prefix = b'{"type":"RECORD","record":{"stream":' + orjson.dumps(self.stream)
        if self.namespace is not None:
            prefix += b',"namespace":' + orjson.dumps(self.namespace)
        return self.batch.lines(prefix + b',"data":', b',"emitted_at":' + str(self.emitted_at).encode() + b"}}")


def read_stream(
    source: Any,
    logger: logging.Logger,
    stream_instance: Any,
    configured_stream: ConfiguredAirbyteStream,
    state_manager: Any,
    internal_config: Any,
) -> Iterator[Union[AirbyteMessage, BatchMessage]]:
    """The CDK's per-stream read (`cdk_seam.MIRRORED`) with batches: the same state handling, statuses and logs.

    Messages keep the CDK's order item by item: queued messages (the source's message repository)
    go out after the rows already read and before the item read next. The rows of a batch come out
    together, so what is queued or logged while a batch is built comes before the whole batch, where
    the CDK, one row at a time, puts it among the rows.
    """
    if internal_config.page_size and isinstance(stream_instance, HttpStream):
        logger.info(f"Setting page size for {stream_instance.name} to {internal_config.page_size}")
        stream_instance.page_size = internal_config.page_size
    logger.debug(
        f"Syncing configured stream: {configured_stream.stream.name}",
        extra={
            "sync_mode": configured_stream.sync_mode,
            "primary_key": configured_stream.primary_key,
            "cursor_field": configured_stream.cursor_field,
        },
    )
    stream_instance.log_stream_sync_configuration()
    stream_name = configured_stream.stream.name
    stream_state = state_manager.get_stream_state(stream_name, stream_instance.namespace)
    if stream_state == {"__ab_no_cursor_state_message": True}:
        stream_state = {}  # the CDK discards this terminal full-refresh state the same way
    if "state" in dir(stream_instance):
        stream_instance.state = stream_state
        logger.info(f"Setting state of {source.name} stream to {stream_state}")
    items = stream_instance.read(
        configured_stream,
        logger,
        cdk_seam.slice_logger(source),
        stream_state,
        state_manager,
        internal_config,
        batches=True,
    )
    transformer = stream_instance.transformer
    transform = TransformConfig.NoTransform not in cdk_seam.transform_flags(transformer)
    namespace = stream_instance.namespace
    rows: List[Mapping[str, Any]] = []
    count = 0

    def flush() -> Iterator[BatchMessage]:
        if rows:
            yield BatchMessage(stream_name, namespace, RecordBatch.from_rows(rows))
            rows.clear()

    logger.info(f"Syncing stream: {stream_name} ")
    for item in items:
        if isinstance(item, RecordBatch):
            if not len(item):
                continue
            is_record, batch = True, item
        elif isinstance(item, Mapping):
            is_record, batch = True, None
        else:
            is_record, batch = item.type == MessageType.RECORD, None
        if is_record:
            if count == 0:
                logger.info(f"Marking stream {stream_name} as RUNNING")
                yield stream_status_as_airbyte_message(configured_stream.stream, AirbyteStreamStatus.RUNNING)
            count += len(batch) if batch is not None else 1
        queued = list(cdk_seam.source_queue(source))
        if queued:
            yield from flush()
            yield from queued
        if batch is not None:
            yield from flush()
            yield BatchMessage(stream_name, namespace, batch)
        elif isinstance(item, Mapping):
            row = dict(item)
            if transform:
                transformer.transform(row, stream_instance.get_json_schema())
            rows.append(row)
            if len(rows) >= ROWS_PER_BATCH:
                yield from flush()
        else:
            yield from flush()
            yield item
    yield from flush()
    logger.info(f"Read {count} records from {stream_name} stream")
