"""Shared by the tests that compare the row path with a vectorised path on the same bytes."""

from __future__ import annotations

import io
from typing import Any, Callable, Iterable, List, Optional, Tuple

from source_exports.errors import ExportsError


class BytesFetcher:
    """A fetcher that serves one in-memory body (no HTTP: these tests are about parsing and encoding)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def open(self, mint: Any, name: str, on_size: Any = None) -> io.BytesIO:
        return io.BytesIO(self.data)


def outcome(
    rows_of: Callable[[], Iterable[Any]], convert: Callable[[Any], Any] = lambda row: list(row.items())
) -> Tuple[List[Any], Optional[str]]:
    """(every row read before any error, each `convert`ed; the error's text, or None)."""
    rows: List[Any] = []
    try:
        for row in rows_of():
            rows.append(convert(row))
    except ExportsError as error:
        return rows, str(error)
    return rows, None
