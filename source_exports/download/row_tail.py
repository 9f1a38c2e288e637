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
    """A tail as the text that ends a written row: the row's own text, then the tail around its row number."""

    __slots__ = ("numbered", "after_columns")

    def __init__(self, tail: Mapping[str, Any]) -> None:
        before: List[bytes] = []
        after: List[bytes] = []
        row_key = b""
        for key, value in tail.items():
            if value is ROW_NUMBER:
                row_key = json_text(key).encode() + b":"
            else:
                (after if row_key else before).append(f"{json_text(key)}:{json_text(value)}".encode())
        opening = b"".join(item + b"," for item in before) + row_key
        closing = b"".join(b"," + item for item in after) + b"}"
        self.numbered = opening.replace(b"%", b"%%") + b"%d" + closing.replace(b"%", b"%%")
        """The tail from its first key to the closing brace, `%d` for the row number (a bytes format)."""
        self.after_columns = b"," + self.numbered
        """`numbered` after a row with columns of its own."""

    def ended(self, objects: Sequence[bytes], rows: Sequence[Mapping[str, Any]], first: int) -> List[bytes]:
        """Each of `objects` (rows written by orjson) numbered from `first` and ended with the tail.

        One bytes format per row for the tail, one concatenation for the row (measured fastest).
        """
        numbered, after_columns = self.numbered, self.after_columns
        return [
            text[:-1] + (after_columns if row else numbered) % number
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
