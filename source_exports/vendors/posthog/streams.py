"""PostHog streams: batch exports, their runs and logs, and on-demand file downloads per model.

Incremental reads stop at "now minus `end_lag_seconds`" and save that bound as the cursor, so
rows PostHog is still writing are read by the next sync instead of being skipped:
- runs: every run with `last_updated_at` >= the cursor (a run still going is read again later);
- logs: entries in [cursor, bound), walked newest first per batch export;
- file downloads: windows [start, end) of `_inserted_at`, at most `window_days` each; the cursor
  moves to a window's end only after all its rows were emitted.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional

import orjson
from airbyte_cdk.models import SyncMode

from source_exports.ahead import Ahead
from source_exports.download.batch import RecordBatch, encode_row
from source_exports.download.formats import get_format
from source_exports.download.reader import FILE_COLUMN, ROW_COLUMN, ExportFile, ExportFileReader
from source_exports.download.row_tail import BareRows
from source_exports.errors import RecordParseError, TransientError
from source_exports.streams import ExportsStream, IncrementalExportsStream, PrimaryKey
from source_exports.vendors.posthog.client import PostHogClient
from source_exports.vendors.posthog.config import FileDownloadConfig, PostHogConfig
from source_exports.vendors.posthog.errors import VENDOR, ExportExpired
from source_exports.vendors.posthog.jobs import CompletedExport, FileDownloadJob, JobSettings
from source_exports.vendors.posthog.logs import NewestFirstLogWalker
from source_exports.vendors.posthog.rows import RowTransform
from source_exports.vendors.posthog.windows import (
    EARLIEST_INSERTED_AT,
    ONE_MICROSECOND,
    UTC,
    format_timestamp,
    parse_timestamp,
)
from source_exports.windows import Window, plan_windows

LOGGER = logging.getLogger("airbyte")
EXPORT_ID_COLUMN = "_ab_export_id"
FILE_FORMATS = {"JSONLines": "jsonl", "Parquet": "parquet"}
"""PostHog's file format names → ours."""
PRIMARY_KEYS: Dict[str, PrimaryKey] = {"events": "uuid", "persons": ["distinct_id"], "sessions": None}

Clock = Callable[[], datetime]
PER_EXPORT_COLUMNS = frozenset({FILE_COLUMN, ROW_COLUMN, EXPORT_ID_COLUMN})
"""Columns that differ between two exports of the same rows (file ids, part row numbers, export id)."""


CHUNK_ROWS = 200
"""Rows transformed and written together: few enough that a chunk's rows are still in the CPU caches
when its timestamps are respelled and it is written (1,000 cost ~15 % more CPU)."""

PER_EXPORT_KEY = b'"' + FILE_COLUMN.encode() + b'":'
"""How the first per-export column starts in a written row: the reader appends the per-export columns
after the file's (file, row number, export id), and a quote inside a string is written escaped, so
the last occurrence is that column's."""


class Encoded:
    """One chunk of transformed rows, each written once: the records, and the content the replay check hears.

    A row's content is its object without the per-export columns: equal for the same row of two exports.
    Rows read in blocks come bare (`BareRows`): written without the metadata columns, which are then
    appended as text, so the content is the written row as it is; rows of the row path carry them,
    and their content is cut before them (`_content`).
    """

    __slots__ = ("rows", "objects", "contents", "columns", "error")

    def __init__(
        self, rows: List[Dict[str, Any]], bare: Optional[BareRows] = None, error: Optional[Exception] = None
    ) -> None:
        dumps = orjson.dumps
        try:
            objects = [dumps(row, default=str) for row in rows]
        except orjson.JSONEncodeError:  # a row nested too deeply: the rows before it still go out
            objects = []
            for index, row in enumerate(rows):
                try:
                    objects.append(encode_row(row))
                except RecordParseError as failure:
                    rows, error = rows[:index], failure if bare is None else _named(encode_row, bare, index)
                    break
        if bare is None:
            self.contents = list(map(_content, objects))
            self.objects, self.columns = objects, frozenset()
        else:
            self.contents = objects
            self.objects, self.columns = bare.text.ended(objects, rows, bare.first), frozenset(bare.tail)
        self.rows, self.error = rows, error

    def fingerprints(self, start: int = 0, end: Optional[int] = None) -> bytes:
        """The content of rows `start:end`, one line each: what a replay digest hears."""
        contents = self.contents[start:end]
        return b"\n".join(contents) + b"\n" if contents else b""

    def batch(self, start: int) -> RecordBatch:
        """Rows `start:` as a batch of their records."""
        return RecordBatch(self.objects[start:], columns=self.columns.union(*self.rows[start:]))


def _content(text: bytes) -> bytes:
    """A written row with metadata columns as the same row written without them."""
    cut = text.rfind(PER_EXPORT_KEY)
    if cut <= 1:  # none (not written by the reader: kept whole), or the row has no column of its own
        return text if cut < 0 else b"{}"
    return text[: cut - 1] + b"}"


def _named(step: Callable[[Dict[str, Any]], Any], bare: BareRows, index: int) -> RecordParseError:
    """The error `step` raised for bare row `index`, raised again on the row with its metadata, so it names
    the file and the row."""
    try:
        step(bare.row_with_tail(index))
    except RecordParseError as error:
        return error
    raise AssertionError("a step that failed on a row passed on the same row with its metadata")


def replay_digest() -> Any:
    """An order-sensitive digest of rows' content for the replay check: SHA-1, not for security but for
    speed (it hashes every row PostHog sends: ~1.8 GB/s where the CPU has SHA instructions, twice BLAKE2b)."""
    return hashlib.sha1(usedforsecurity=False)


def utc_now() -> datetime:
    return datetime.now(UTC)


class PostHogStreamMixin:
    """What every PostHog stream shares: the client, the config and the clock."""

    def __init__(self, client: PostHogClient, config: PostHogConfig, clock: Clock = utc_now) -> None:
        self.client = client
        self.config = config
        self.clock = clock

    def read_bound(self) -> datetime:
        """The upper bound of this sync: now minus the configured lag."""
        return self.clock() - timedelta(seconds=self.config.end_lag_seconds)

    def team_of(self, batch_export: Mapping[str, Any]) -> str:
        """The environment (team) a batch export belongs to: its runs and logs live there."""
        return str(batch_export.get("team_id") or self.config.environment_id)


class PostHogBatchExports(PostHogStreamMixin, ExportsStream):
    """Every batch export of the organisation (when `organization_id` is set) or the environment."""

    primary_key = "id"

    def __init__(self, client: PostHogClient, config: PostHogConfig, clock: Clock = utc_now) -> None:
        PostHogStreamMixin.__init__(self, client, config, clock)
        ExportsStream.__init__(self)

    @property
    def name(self) -> str:
        return "posthog_batch_exports"

    def read_records(self, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        yield from self.client.list_batch_exports(on_count=self.estimate.add_rows)


class PostHogIncrementalStream(PostHogStreamMixin, IncrementalExportsStream):
    earliest_data = EARLIEST_INSERTED_AT

    def __init__(
        self, client: PostHogClient, config: PostHogConfig, start_date: Optional[datetime], clock: Clock = utc_now
    ) -> None:
        PostHogStreamMixin.__init__(self, client, config, clock)
        IncrementalExportsStream.__init__(self, start_date)


class PostHogBatchExportRuns(PostHogIncrementalStream):
    """Runs of every batch export (cursor pagination), incremental on `last_updated_at`."""

    primary_key = "id"
    cursor_field = "last_updated_at"

    @property
    def name(self) -> str:
        return "posthog_batch_export_runs"

    def read_records(self, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        lower = self.cursor_value(sync_mode)
        bound = self.read_bound()
        for batch_export in self.client.list_batch_exports():
            for run in self.client.list_runs(self.team_of(batch_export), str(batch_export["id"])):
                updated = parse_timestamp(str(run.get("last_updated_at") or ""))
                if lower is None or updated is None or updated >= lower:
                    yield run
        self.advance_cursor(format_timestamp(bound))


class PostHogBatchExportLogs(PostHogIncrementalStream):
    """Log entries of every batch export, newest first per export, incremental on `timestamp`."""

    primary_key = None
    cursor_field = "timestamp"

    @property
    def name(self) -> str:
        return "posthog_batch_export_logs"

    def read_records(self, sync_mode: SyncMode, **kwargs: Any) -> Iterable[Mapping[str, Any]]:
        lower = self.cursor_value(sync_mode)
        bound = self.read_bound()
        # `after` is strict: one microsecond earlier makes the cursor itself inclusive, `before` (the bound)
        # stays exclusive, so consecutive syncs read [cursor, bound) ranges that neither overlap nor leave gaps.
        after = format_timestamp(lower - ONE_MICROSECOND) if lower else None
        for batch_export in self.client.list_batch_exports():
            batch_export_id = str(batch_export["id"])
            walker = NewestFirstLogWalker(
                functools.partial(self._page, self.team_of(batch_export), batch_export_id, after),
                limit=self.config.logs_page_size,
                logger=self.logger,
            )
            for entry in walker.walk(before=bound):
                entry["batch_export_id"] = batch_export_id
                yield entry
        self.advance_cursor(format_timestamp(bound))

    def _page(self, team_id: str, batch_export_id: str, after: Optional[str], before: datetime) -> List[Dict]:
        limit = self.config.logs_page_size
        return self.client.list_logs(team_id, batch_export_id, limit, after=after, before=format_timestamp(before))


class PostHogFileDownloadStream(PostHogIncrementalStream):
    """Rows of one model (events, persons, sessions) from on-demand exports, window by window."""

    cursor_field = "_inserted_at"

    def __init__(
        self,
        client: PostHogClient,
        config: PostHogConfig,
        model: str,
        start_date: Optional[datetime],
        clock: Clock = utc_now,
        reader: Optional[ExportFileReader] = None,
        job_factory: Optional[Callable[..., FileDownloadJob]] = None,
    ) -> None:
        super().__init__(client, config, start_date, clock)
        self.model = model
        self.file_config: FileDownloadConfig = config.file_download or FileDownloadConfig()
        self.reader = reader or ExportFileReader(logger=LOGGER)
        self.job_factory = job_factory or FileDownloadJob
        self.transform = RowTransform(model, self.name)
        self._pipeline: Optional[Ahead[Window, CompletedExport]] = None

    @property
    def name(self) -> str:
        return f"posthog_{self.model}"

    @property
    def primary_key(self) -> PrimaryKey:
        return PRIMARY_KEYS.get(self.model)

    def stream_slices(
        self, *, sync_mode: SyncMode, cursor_field: Optional[List[str]] = None, stream_state: Any = None
    ) -> Iterable[Optional[Mapping[str, Any]]]:
        bound = self.read_bound()
        start = self.cursor_value(sync_mode) or (bound - timedelta(days=self.config.initial_lookback_days))
        windows = plan_windows(start, bound, timedelta(days=self.config.window_days))
        if not windows:
            self.logger.info(f"{self.name}: nothing new to export before {format_timestamp(bound)}")
        else:
            self.logger.info(
                f"{self.name}: {len(windows)} export window(s) of up to {self.config.window_days} day(s), one "
                f"PostHog export each, from {format_timestamp(start)} to {format_timestamp(bound)}"
            )
        self._close_pipeline()
        if len(windows) > 1 and self.config.export_concurrency > 1:
            self._pipeline = Ahead(windows, self._run_export, self.config.export_concurrency, name="posthog-export")
        return [window.as_slice(format_timestamp) for window in windows]

    def read_records(
        self, sync_mode: SyncMode, stream_slice: Optional[Mapping[str, Any]] = None, **kwargs: Any
    ) -> Iterable[Mapping[str, Any]]:
        if not stream_slice:
            return
        window = Window(parse_timestamp(stream_slice["start"]), parse_timestamp(stream_slice["end"]))
        try:
            # Under the fast read loop the rows travel as batches, past the CDK's per-record work (see fast_read.py).
            yield from self.read_window(window)
        except BaseException:  # a failed or abandoned read stops the exports running ahead
            self._close_pipeline()
            raise
        self.advance_cursor(format_timestamp(window.end))
        if self._pipeline is not None and self._pipeline.finished():
            self._close_pipeline()

    def _close_pipeline(self) -> None:
        """Stop every export still waiting ahead (those created are left to expire in PostHog), end the threads."""
        if self._pipeline is not None:
            unread = self._pipeline.close()
            if unread:
                unread_exports = f"{len(unread)} export(s) created ahead were not read"
                self.logger.info(f"PostHog: {unread_exports}; they expire in PostHog")
            self._pipeline = None

    def read_window(self, window: Window) -> Iterator[Any]:
        """All rows of one window, each exactly once; an export that expires before it is read is created again.

        Rows come as `RecordBatch`es when the stream was asked for batches, else one by one. When
        rows of the window were already emitted, the re-created export's first rows are not emitted
        again: they are skipped after checking that they are the same rows in the same order (an
        order-sensitive digest of their content). If they are not, the window fails (transient) before
        anything more is emitted; the saved state still points at this window's start.
        """
        emitted = 0
        emitted_digest = replay_digest()
        recreations = 0
        while True:
            export = self.first_export(window) if not recreations else self.new_job(window).run()
            if not recreations and export.records_completed:  # a re-created export holds the same rows
                self.estimate.add_rows(export.records_completed)
            replay = replay_digest()
            seen = 0
            try:
                for chunk in self.chunks_of(export, on_size=None if recreations else self.estimate.add_bytes):
                    skipped = min(len(chunk.rows), emitted - seen) if seen < emitted else 0
                    if skipped:
                        replay.update(chunk.fingerprints(0, skipped))
                        seen += skipped
                        if seen == emitted:
                            self._check_replay(export, window, emitted, replay, emitted_digest)
                    if skipped < len(chunk.rows):
                        emitted_digest.update(chunk.fingerprints(skipped))
                        seen += len(chunk.rows) - skipped
                        emitted = seen
                        if self.batches:
                            yield chunk.batch(skipped)
                        else:
                            yield from chunk.rows[skipped:]
                    if chunk.error is not None:
                        raise chunk.error
                if seen < emitted:
                    self._check_replay(export, window, emitted, None, emitted_digest, seen)
                return
            except ExportExpired as expired:
                if recreations >= self.config.export_recreations:
                    raise ExportExpired(
                        f"The {self.model} export {window.describe(format_timestamp)} expired {recreations + 1} times "
                        "before it was read",
                        vendor=VENDOR,
                        stream=self.name,
                        job_id=export.id,
                        hint="Downloads are too slow for PostHog's expiry; retry the sync, or lower "
                        "posthog.window_days so each export is smaller",
                    ) from expired
                recreations += 1
                skip = f"; its first {emitted:,} rows were already emitted and will be skipped" if emitted else ""
                self.logger.warning(f"{self.name}: export {export.id} has expired; creating it again{skip}")

    def _check_replay(
        self,
        export: CompletedExport,
        window: Window,
        emitted: int,
        replay: Optional[Any],
        emitted_digest: Any,
        seen: Optional[int] = None,
    ) -> None:
        """Refuse to continue a re-created export whose first rows differ from the rows already emitted."""
        if replay is not None and replay.digest() == emitted_digest.digest():
            return
        found = f"only {seen:,} rows" if seen is not None else "different rows or another order"
        raise TransientError(
            f"The {self.model} export {window.describe(format_timestamp)} expired after {emitted:,} rows were "
            "emitted, and the re-created "
            f"export holds {found}, so the rest cannot be continued without duplicates or gaps",
            vendor=VENDOR,
            stream=self.name,
            job_id=export.id,
            hint="Run the sync again: it restarts from this window, whose rows were not checkpointed",
        )

    def first_export(self, window: Window) -> CompletedExport:
        """The window's export: from the pipeline when its windows run ahead, else created now."""
        if self._pipeline is not None:
            return self._pipeline.result_for(window)
        return self.new_job(window).run()

    def _run_export(self, window: Window, sleep: Callable[[float], None]) -> CompletedExport:
        return self.new_job(window, sleep).run()

    def new_job(self, window: Window, sleep: Callable[[float], None] = time.sleep) -> FileDownloadJob:
        settings = JobSettings(
            poll_interval_seconds=self.config.poll_interval_seconds,
            poll_timeout_seconds=self.config.poll_timeout_minutes * 60,
            concurrency_retries=self.config.concurrency_retries,
        )
        return self.job_factory(self.client, self.model, window, self.file_config, settings, self.logger, sleep=sleep)

    def rows_of(
        self, export: CompletedExport, on_size: Optional[Callable[[int], None]] = None
    ) -> Iterator[List[Dict[str, Any]]]:
        """Every row of every file of a completed export as read, in file order, in lists of about
        `CHUNK_ROWS` (`ExportFileReader.read_chunks`); `on_size` hears each file's size."""
        file_format = get_format(FILE_FORMATS[self.file_config.format])
        # Parquet's compression is inside the file; JSON Lines files are compressed whole
        compression = self.file_config.compression if file_format.name == "jsonl" else None
        files = [
            ExportFile(
                name=file_format.file_name(file_id, compression),
                mint=functools.partial(self.client.file_location, export.id, file_id),
                format=file_format.name,
                metadata={EXPORT_ID_COLUMN: export.id},
                on_size=on_size,
            )
            for file_id in export.files
        ]
        bare = self.batches  # the CDK's path needs the metadata in the rows
        if len(files) > 1 and self.config.download_concurrency > 1:  # parts download ahead, read in order
            return self.reader.read_many(files, self.config.download_concurrency, chunks=CHUNK_ROWS, bare=bare)
        return (chunk for export_file in files for chunk in self.reader.read_chunks(export_file, CHUNK_ROWS, bare))

    def chunks_of(self, export: CompletedExport, on_size: Optional[Callable[[int], None]] = None) -> Iterator[Encoded]:
        """The export's rows transformed and written, a chunk of `rows_of` at a time.

        An error from reading or transforming comes out after the rows before it: raised for a failed
        read, in the chunk's `error` for a row that cannot be transformed or written.
        """
        objects, timestamps = self.transform.objects, self.transform.timestamps
        for chunk in self.rows_of(export, on_size):
            bare = chunk if isinstance(chunk, BareRows) else None
            done: List[Dict[str, Any]] = []
            try:
                for row in chunk if bare is None else bare.rows:
                    done.append(objects(row))
            except RecordParseError as error:
                failure = error if bare is None else _named(objects, bare, len(done))
                yield Encoded(timestamps(done), bare, failure)
                return
            yield Encoded(timestamps(done), bare)
