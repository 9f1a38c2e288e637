"""Reads one export file end to end: fetch → decode → parse → rows with source metadata."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import itertools
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import (
    IO,
    Any,
    BinaryIO,
    Callable,
    ContextManager,
    Generator,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
)

from source_exports.ahead import ahead
from source_exports.download.batch import RecordBatch, in_batches, in_chunks
from source_exports.download.codecs import open_decoded
from source_exports.download.columns import describe, move_aside
from source_exports.download.fetch import Fetcher, SizeListener, UrlMinter
from source_exports.download.formats import get_format
from source_exports.download.parsers import RecordParser, Row
from source_exports.download.row_tail import ROW_NUMBER, BareRows, TailText
from source_exports.download.sniff import refuse_error_page
from source_exports.download.vectorised import Unsupported
from source_exports.errors import CorruptFileError, ExportsError, RecordParseError

LOGGER = logging.getLogger("airbyte")

FILE_COLUMN = "_ab_source_file"
ROW_COLUMN = "_ab_source_row"
PARSER_FAILURES = (RecursionError, TypeError, ValueError, UnicodeError, OverflowError, EOFError)
"""What format libraries raise besides their documented errors (orjson's depth limit is a TypeError)."""
SPOOL_IN_MEMORY = 1 << 20
"""`read_many` keeps a downloaded body in memory up to this size, on disk beyond it."""


@dataclass(frozen=True)
class ExportFile:
    """One downloadable file: how to mint its URL, its format, and columns to add to each row.

    `name` is what records and logs show: a file name, never a signed URL. `on_size` is told the
    file's size when its download starts (a stream's progress estimate); samples do not tell it.
    """

    name: str
    mint: UrlMinter
    format: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    on_size: Optional[SizeListener] = None


@dataclasses.dataclass(frozen=True)
class Resume:
    """Where the row path takes over a file the bulk readers left: after `done` rows, through `opener`."""

    done: int
    opener: Callable[[], ContextManager[Any]]
    refetches: int


class ExportFileReader:
    """Streams the rows of export files, adding `_ab_source_file`, `_ab_source_row` and metadata.

    >>> reader = ExportFileReader()
    >>> for row in reader.read(ExportFile("out.csv", mint=lambda: url, format="csv")):  # doctest: +SKIP
    ...     print(row["_ab_source_row"])
    """

    batch_rows = 2_000
    """Rows per batch on the row path (formats without a vectorised encoder, fallbacks)."""

    def __init__(self, fetcher: Optional[Fetcher] = None, logger: logging.Logger = LOGGER) -> None:
        self.fetcher = fetcher or Fetcher()
        self.logger = logger

    def read(self, export: ExportFile, limit: Optional[int] = None) -> Iterator[Row]:
        """Yield the file's rows in order; stop (and close the connection) after `limit` rows."""
        yield from self._rows(export, lambda: self._download(export), limit=limit)

    def records(self, export: ExportFile, batches: bool) -> Iterator[Any]:
        """What a file-backed stream's `read_records` yields: `RecordBatch`es when the stream was asked
        for batches (`ExportsStream.batches`, the fast read loop: `source_exports.fast_read`), rows otherwise."""
        if batches:
            return self.read_batches(export)
        return self.read(export)

    def read_batches(self, export: ExportFile) -> Iterator[RecordBatch]:
        """The file's rows as `RecordBatch`es, encoded in bulk; same values and order as `read`."""
        return self._batches(export, lambda: self._download(export))

    def read_chunks(self, export: ExportFile, size: int, bare: bool = False) -> Iterator[Any]:
        """The rows `read` gives, in lists of about `size` (read a block at a time where the format
        can, `Format.row_blocks`, each block cut into equal lists: a JSON Lines block of 260 rows is one
        list, not 200 and 60), for streams that work on many rows at once before writing them.

        `bare`: the rows read in blocks come as `BareRows`, without the metadata columns, for a stream
        that appends them to the rows it writes (`TailText`); rows of the row path are lists as ever.
        """
        return self._chunks(export, lambda: self._download(export), size, bare)

    def read_many(
        self,
        exports: Iterable[ExportFile],
        concurrency: int = 8,
        batches: bool = False,
        chunks: Optional[int] = None,
        bare: bool = False,
    ) -> Iterator[Any]:
        """Rows (or batches, as `records`, or lists of rows, as `read_chunks(export, chunks, bare)`) of many
        files, strictly in input order.

        Up to `concurrency` files are downloaded ahead by a bounded thread pool into spooled
        temporary files (small bodies stay in memory, larger ones go to disk), so many small
        files cost one round trip per `concurrency` files instead of one each; memory stays
        bounded by `concurrency` spools of at most `SPOOL_IN_MEMORY` bytes each. The first
        failing file raises its error after the rows of the files before it.
        """
        for export, future in ahead(exports, self.spool, concurrency, discard=_close):
            with future.result() as spool:
                yield from self.read_spooled(export, spool, batches, chunks, bare)

    def read_spooled(
        self,
        export: ExportFile,
        spool: IO[bytes],
        batches: bool = False,
        chunks: Optional[int] = None,
        bare: bool = False,
    ) -> Iterator[Any]:
        """The rows (or batches, or chunks, as `read_many`) of a file `spool` downloaded; the caller closes it."""
        opener = _reopen(spool)
        if chunks is not None:
            return self._chunks(export, opener, chunks, bare)
        if batches:
            return self._batches(export, opener)
        return self._rows(export, opener)

    def spool(self, export: ExportFile) -> IO[bytes]:
        """Download the whole file into a spooled temporary file (safe to call from worker threads)."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix="source-exports-")
        try:
            with self._download(export) as body:
                shutil.copyfileobj(body, spool, 1 << 16)
                spool.position = body.position
                spool.resumes = body.resumes
                spool.content_type = getattr(body, "content_type", None)
        except BaseException:
            spool.close()
            raise
        return spool

    # internals

    def _download(self, export: ExportFile) -> ContextManager[Any]:
        return contextlib.closing(self.fetcher.open(export.mint, export.name, export.on_size))

    def _rows(
        self,
        export: ExportFile,
        opener: Callable[[], ContextManager[Any]],
        limit: Optional[int] = None,
        refetches: int = 1,
    ) -> Iterator[Row]:
        """The file's rows; a damaged compressed body is downloaded again (it may have been cut in
        transit) before the error is final — only while none of its rows was emitted: a fresh URL
        may be a fresh export (Cargo), whose rows could not be spliced onto the ones already out."""
        parser = get_format(export.format).parser()
        done = 0
        while True:
            try:
                for row in self._parse(export, parser, opener, limit):
                    done += 1
                    yield row
                return
            except CorruptFileError as error:
                if refetches <= 0 or done:
                    raise
                refetches -= 1
                self.logger.warning(f"{export.name}: {error.message}; downloading it again")
                opener = functools.partial(self._download, export)

    def _parse(
        self, export: ExportFile, parser: RecordParser, opener: Callable[[], ContextManager[Any]], limit: Optional[int]
    ) -> Iterator[Row]:
        started = time.monotonic()
        rows = 0
        reserved = frozenset({FILE_COLUMN, ROW_COLUMN, *export.metadata})
        warned: set = set()
        with opener() as body:
            decoded = open_decoded(body, export.name)
            refuse_error_page(decoded, body, export.name, export.format)
            try:
                for rows, row in enumerate(parser.parse_records(decoded, export.name, self.logger), start=1):
                    if not reserved.isdisjoint(row):
                        row = self._move_aside(row, reserved, export.name, warned)
                    row[FILE_COLUMN] = export.name
                    row[ROW_COLUMN] = rows
                    row.update(export.metadata)
                    yield row
                    if limit is not None and rows >= limit:
                        return
            except ExportsError:
                raise
            except PARSER_FAILURES as error:  # e.g. a JSON library's recursion limit: the file's fault, named
                raise unparseable(export, error, rows + 1) from error
            self._log_done(export, body, rows, started)

    def _batches(self, export: ExportFile, opener: Callable[[], ContextManager[Any]]) -> Iterator[RecordBatch]:
        encoder = get_format(export.format).encoder
        resume: Optional[Resume] = Resume(0, opener, 1)
        if encoder is not None and self._bulk_applies(export):
            resume = yield from self._bulk(export, opener, encoder)
        if resume is None:
            return
        rows = self._rows(export, resume.opener, refetches=resume.refetches)
        yield from in_batches(itertools.islice(rows, resume.done, None), self.batch_rows)

    def _chunks(
        self, export: ExportFile, opener: Callable[[], ContextManager[Any]], size: int, bare: bool = False
    ) -> Iterator[Any]:
        """As `_batches`, with the format's row blocks instead of its encoder; the row path from the first
        row they cannot reproduce, and for formats without them."""
        blocks = get_format(export.format).row_blocks
        resume: Optional[Resume] = Resume(0, opener, 1)
        if blocks is not None and self._bulk_applies(export):

            def chunked(decoded: BinaryIO, tail: Mapping[str, Any], name: str) -> Iterator[Any]:
                first, text = 1, TailText(tail)
                for block in filter(None, blocks(decoded, tail, name)):
                    step = -(-len(block) // max(1, round(len(block) / size)))  # equal parts, each under 1.5 × size
                    for start in range(0, len(block), step):
                        part = BareRows(block[start : start + step], first + start, tail, text)
                        yield part if bare else part.tailed()
                    first += len(block)

            resume = yield from self._bulk(export, opener, chunked)
        if resume is None:
            return
        rows = self._rows(export, resume.opener, refetches=resume.refetches)
        yield from in_chunks(itertools.islice(rows, resume.done, None), size)

    @staticmethod
    def _bulk_applies(export: ExportFile) -> bool:
        """The bulk readers add the metadata columns themselves, so not when the export's own metadata names them."""
        return not ({FILE_COLUMN, ROW_COLUMN} & set(export.metadata))

    def _bulk(
        self, export: ExportFile, opener: Callable[[], ContextManager[Any]], pieces: Callable[..., Iterator[Any]]
    ) -> Generator[Any, None, Optional[Resume]]:
        """Yield what `pieces(decoded, tail, name)` makes of the file (batches or row lists, sized by their rows).

        Returns None when the whole file was read, else where the row path takes over: after the
        rows already yielded when the bulk reader cannot reproduce a row (`Unsupported`), or from
        the start of a fresh download when the body was damaged before any row was yielded.
        """
        tail = {FILE_COLUMN: export.name, ROW_COLUMN: ROW_NUMBER, **export.metadata}
        done = 0
        started = time.monotonic()
        try:
            with opener() as body:
                decoded = open_decoded(body, export.name)
                refuse_error_page(decoded, body, export.name, export.format)
                for piece in pieces(decoded, tail, export.name):
                    done += len(piece)
                    yield piece
                self._log_done(export, body, done, started)
            return None
        except Unsupported as why:
            self.logger.info(f"{export.name}: reading row by row from row {done + 1} ({why})")
            return Resume(done, opener, 1)
        except CorruptFileError as error:
            if done:
                raise
            self.logger.warning(f"{export.name}: {error.message}; downloading it again")
            return Resume(0, functools.partial(self._download, export), 0)
        except ExportsError:
            raise
        except PARSER_FAILURES as error:  # e.g. orjson refusing a Parquet value nested too deep
            raise unparseable(export, error, done + 1) from error

    def _move_aside(self, row: Row, reserved: frozenset, file_name: str, warned: set) -> Row:
        """A data column named like a metadata column keeps its values under a free `<name>_2`."""
        moved, changes = move_aside(row, reserved)
        if not warned.issuperset(changes):
            warned.update(changes)
            self.logger.warning(
                f"{file_name}: column names collide with metadata columns the connector adds; the file's columns "
                f"are kept, read as {describe(changes)}"
            )
        return moved

    def _log_done(self, export: ExportFile, body: Any, rows: int, started: float) -> None:
        seconds = time.monotonic() - started
        resumes = getattr(body, "resumes", 0)
        self.logger.info(
            f"{export.name}: {rows:,} rows, {getattr(body, 'position', 0) / 1e6:,.1f} MB in {seconds:,.1f} s"
            + (f" ({resumes} resumes)" if resumes else "")
        )

    def sample(self, export: ExportFile, limit: int = 100) -> List[Row]:
        """The first `limit` rows: enough to infer a schema, without reading the whole file."""
        return list(self.read(dataclasses.replace(export, on_size=None), limit=limit))


def unparseable(export: ExportFile, error: Exception, row: int) -> RecordParseError:
    """A format library's own failure on this file, as our error naming the file and row."""
    return RecordParseError(
        f"Could not parse the {export.format} file: {type(error).__name__}: {error}",
        file=export.name,
        row=row,
        hint="The file is damaged or not in the configured format (rows before this one were read)",
    )


def _close(spool: IO[bytes]) -> None:
    spool.close()


def _reopen(spool: IO[bytes]) -> Callable[[], ContextManager[BinaryIO]]:
    """An opener over a spooled body: each call starts again from its first byte."""

    @contextlib.contextmanager
    def opener() -> Iterator[BinaryIO]:
        spool.seek(0)
        yield _SpoolView(spool)

    return opener


class _SpoolView(io.RawIOBase):
    """A raw, read-only view of a spool that `open_decoded` may wrap, carrying the download's stats.

    Closing the view (the parsers' wrappers do) leaves the spool open; `read_many` closes it.
    """

    def __init__(self, spool: Any) -> None:
        super().__init__()
        self._spool = spool
        self.position = getattr(spool, "position", 0)
        self.resumes = getattr(spool, "resumes", 0)
        self.content_type = getattr(spool, "content_type", None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._spool.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
