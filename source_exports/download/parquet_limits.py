"""The file limits for Parquet: a value or row past them is refused, before or just after pyarrow decodes it.

pyarrow decompresses a whole page to read any value of it, and a value never spans pages, so a
1 GiB string costs a 1 GiB allocation however small the batch. Two checks, neither per row:

- the footer, before a row group's pages are read: a column chunk holding more uncompressed bytes per value
  than `max_field_bytes`, or a row group holding more bytes per row than `max_record_bytes`, must
  hold a value (row) past the limit on average, so it is refused without decompressing it;
- each batch, before it becomes JSON: the longest string or binary value of each column, and the
  string and binary bytes of each row, by arrow kernels, and only when the buffers are large
  enough to hold such a value at all (the common batch costs a size lookup).

A single huge value among many small ones in one column chunk passes the footer check; the batch
check then refuses it, after pyarrow has allocated its page.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

from source_exports.download.limits import FileLimits, current, exceeded


class FooterGuard:
    """Checks each row group's footer figures just before pyarrow reads its first rows, so the rows
    of the groups before a refused one are still read."""

    def __init__(self, metadata: Any, limits: FileLimits, file_name: str) -> None:
        self._metadata, self._limits, self._file_name = metadata, limits, file_name
        self._next_group, self._next_first = 0, 1

    def check_rows(self, last_row: int) -> None:
        """Raise `FileLimitExceeded` for a row group starting at or before `last_row` whose averages break a limit."""
        limits, metadata = self._limits, self._metadata
        while self._next_group < metadata.num_row_groups and self._next_first <= last_row:
            group = metadata.row_group(self._next_group)
            first, rows = self._next_first, max(group.num_rows, 1)
            span = f"rows {first:,}–{first + rows - 1:,} (their average)" if rows > 1 else f"row {first:,}"
            for column in range(group.num_columns):
                chunk = group.column(column)
                if chunk.total_uncompressed_size > limits.max_field_bytes * max(chunk.num_values, 1):
                    what = f"A value of Parquet column '{chunk.path_in_schema}' in {span}"
                    raise exceeded(what, "max_field_bytes", limits.max_field_bytes, self._file_name, first)
            if group.total_byte_size > limits.max_record_bytes * rows:
                what = f"A row of Parquet {span}"
                raise exceeded(what, "max_record_bytes", limits.max_record_bytes, self._file_name, first)
            self._next_group += 1
            self._next_first += group.num_rows


BATCH_BYTES = 1 << 19
"""Uncompressed bytes of file data a record batch aims at. A batch, its JSON text and its written lines
are held at once, so peak memory follows the batch's bytes, not its rows: 2,000 rows of 1.2 KB text
cells peaked 28 MB higher than 250 (docs/performance.md)."""
MIN_BATCH_ROWS = 256
"""Fewer rows make every batch's fixed cost per column (arrow kernels, Python calls) dominate."""


def rows_per_batch(metadata: Any, ceiling: int) -> int:
    """Rows per record batch for a file: about `BATCH_BYTES` by its footer's uncompressed sizes, at least
    `MIN_BATCH_ROWS`, at most `ceiling`."""
    rows = metadata.num_rows
    size = sum(metadata.row_group(index).total_byte_size for index in range(metadata.num_row_groups))
    if rows <= 0 or size <= 0:
        return ceiling
    return min(ceiling, max(MIN_BATCH_ROWS, BATCH_BYTES * rows // size))


def bounded_batches(parquet: Any, ceiling: int, file_name: str, **options: Any) -> Iterator[Any]:
    """`parquet.iter_batches(**options)` of at most `ceiling` rows each (`rows_per_batch`), refusing a row group,
    value or row past the file limits."""
    limits = current()
    guard = FooterGuard(parquet.metadata, limits, file_name)
    batch_size = rows_per_batch(parquet.metadata, ceiling)
    batches = parquet.iter_batches(batch_size=batch_size, **options)
    done = 0
    while True:
        guard.check_rows(done + batch_size)
        batch = next(batches, None)
        if batch is None:
            return
        check_batch(batch, done + 1, limits, file_name)
        done += batch.num_rows
        yield batch


def _is_bytes(data_type: Any) -> bool:
    import pyarrow.types as types

    return (
        types.is_string(data_type)
        or types.is_large_string(data_type)
        or types.is_binary(data_type)
        or types.is_large_binary(data_type)
    )


def _first_over(lengths: Any, limit: int) -> Optional[int]:
    """The index of the first length above `limit`, or None."""
    import pyarrow.compute as pc

    longest = pc.max(lengths).as_py()
    if longest is None or longest <= limit:
        return None
    return pc.index(pc.greater(lengths, limit), True).as_py()


def check_batch(batch: Any, first_row: int, limits: FileLimits, file_name: str) -> None:
    """Raise `FileLimitExceeded` when a string/binary value of `batch` exceeds `max_field_bytes`, or
    the string/binary values of one row together exceed `max_record_bytes`. `first_row` is 1-based."""
    import pyarrow.compute as pc

    if batch.nbytes <= min(limits.max_field_bytes, limits.max_record_bytes):
        return
    whole_rows = batch.nbytes > limits.max_record_bytes
    row_bytes = None
    for name, column in zip(batch.schema.names, batch.columns):
        field = column.nbytes > limits.max_field_bytes  # buffers smaller than the limit hold no value past it
        if not _is_bytes(column.type) or not (field or whole_rows):
            continue
        lengths = pc.fill_null(pc.binary_length(column), 0).cast("int64")
        over = _first_over(lengths, limits.max_field_bytes) if field else None
        if over is not None:
            what = f"A value of Parquet column '{name}'"
            raise exceeded(what, "max_field_bytes", limits.max_field_bytes, file_name, first_row + over)
        row_bytes = lengths if row_bytes is None else pc.add(row_bytes, lengths)
    over = _first_over(row_bytes, limits.max_record_bytes) if whole_rows and row_bytes is not None else None
    if over is not None:
        raise exceeded("A Parquet row", "max_record_bytes", limits.max_record_bytes, file_name, first_row + over)
