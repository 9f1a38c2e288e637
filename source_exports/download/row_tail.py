"""The metadata columns every row of a downloaded file gets: added to rows as dicts, or to rows already written.

A *tail* is the reader's mapping {FILE_COLUMN: name, ROW_COLUMN: ROW_NUMBER, **export.metadata};
`ROW_NUMBER` marks the column that carries each row's 1-based number. Appended to a written row
(`TailText`), the columns come out byte for byte as orjson writes the same keys added last to the
row's dict, without three more keys in every dict (which also grows a 10-key dict's table).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

import orjson

ROW_NUMBER = object()
"""Marks the field that carries the 1-based row number in a tail."""


def json_text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def add_tail(rows: List[Dict[str, Any]], tail: Mapping[str, Any], first: int) -> List[Dict[str, Any]]:
    """`rows` with `tail` added to each (in place), as the row path adds it, numbered from `first`."""
    row_column = next(key for key, value in tail.items() if value is ROW_NUMBER)
    for number, row in enumerate(rows, start=first):
        row.update(tail)
        row[row_column] = number
    return rows


class TailText:
    """A tail as the text that ends a written row: `before` its row number, `after` it (closing brace included)."""

    __slots__ = ("before", "after")

    def __init__(self, tail: Mapping[str, Any]) -> None:
        before: List[bytes] = []
        after: List[bytes] = []
        row_key = b""
        for key, value in tail.items():
            if value is ROW_NUMBER:
                row_key = json_text(key).encode() + b":"
            else:
                (after if row_key else before).append(f"{json_text(key)}:{json_text(value)}".encode())
        self.before = b"".join(item + b"," for item in before) + row_key
        self.after = b"".join(b"," + item for item in after) + b"}"

    @staticmethod
    def opened(objects: Sequence[bytes], rows: Sequence[Mapping[str, Any]]) -> List[bytes]:
        """Each of `objects` (rows written by orjson) without its closing brace, a comma after its last column."""
        return [text[:-1] + b"," if row else text[:-1] for text, row in zip(objects, rows)]

    def closed(self, opened: Sequence[bytes], first: int) -> List[bytes]:
        """`opened` rows numbered from `first`, each ended with the tail."""
        before, after = self.before, self.after
        return [text + before + str(number).encode() + after for number, text in enumerate(opened, start=first)]

    def ended(self, objects: Sequence[bytes], rows: Sequence[Mapping[str, Any]], first: int) -> List[bytes]:
        """`closed(opened(objects, rows), first)` in one pass, for a writer that needs no opened rows."""
        before, after = self.before, self.after
        return [
            text[:-1] + (b"," if row else b"") + before + str(number).encode() + after
            for number, (text, row) in enumerate(zip(objects, rows), start=first)
        ]


class BareRows:
    """Rows of one file read together without their tail: the rows as parsed, the number of the first, the tail.

    A consumer that writes the rows appends the tail as `text`; `tailed` gives the rows with it, as the
    row path gives them.
    """

    __slots__ = ("rows", "first", "tail", "text")

    def __init__(self, rows: List[Dict[str, Any]], first: int, tail: Mapping[str, Any], text: TailText) -> None:
        self.rows, self.first, self.tail, self.text = rows, first, tail, text

    def __len__(self) -> int:
        return len(self.rows)

    def tailed(self) -> List[Dict[str, Any]]:
        """The rows with the tail added (in place)."""
        return add_tail(self.rows, self.tail, self.first)

    def row_with_tail(self, index: int) -> Dict[str, Any]:
        """A copy of row `index` with its tail: what names it (file, row number) in an error."""
        return add_tail([dict(self.rows[index])], self.tail, self.first + index)[0]
