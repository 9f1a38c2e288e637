"""Size and nesting limits on what one downloaded file may hold, so a hostile file cannot exhaust memory.

A decompression bomb (gigabytes of one byte behind a tiny gzip), a 2 GiB CSV cell or a JSON
document nested 100,000 levels deep is refused with `FileLimitExceeded` naming the file, the row
and the limit, instead of being read into memory. The defaults are far above any real export's
rows; the optional top-level `file_limits` config block changes them. The parsers read the
limits in force through `current()`; `configure()` sets them once per command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, AnyStr, Callable, Dict, Iterator, Mapping, Optional

from source_exports.errors import ConfigError, ExportsError

MIB = 1 << 20
SERIALISABLE_DEPTH = 250
"""orjson, which writes every record, refuses objects nested deeper than 254 levels; a record sits
inside the message envelope, so deeper rows could be read but never written."""


@dataclass(frozen=True)
class FileLimits:
    """The limits applied to every file; each one a generous ceiling, not a tuning knob."""

    max_record_bytes: int = 32 * MIB
    """One CSV line, one JSON Lines line, one JSON array item (measured on the decoded text), one
    JUnit test case, one Parquet row."""
    max_field_bytes: int = 16 * MIB
    """One CSV cell, one JSON string value, one JUnit element's text or tag, one Parquet value."""
    max_nesting_depth: int = 200
    """Arrays and objects inside one another in one JSON record (the record itself is level 1),
    elements inside one another in a JUnit report."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FileLimits:
        """The limits of a connector config (its optional `file_limits` block), range-checked."""
        block = config.get("file_limits") or {}
        if not isinstance(block, Mapping):
            raise ConfigError("file_limits must be an object", field="file_limits", hint=_HINT)
        values: Dict[str, int] = {}
        for item in fields(cls):
            if block.get(item.name) is None:
                continue
            value = block[item.name]
            low, high = RANGES[item.name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"{value!r} is not a whole number between {low:,} and {high:,}",
                    field=f"file_limits.{item.name}",
                    hint=_HINT,
                )
            values[item.name] = value
        return cls(**values)


RANGES = {
    "max_record_bytes": (64 * 1024, 1024 * MIB),
    "max_field_bytes": (64 * 1024, 1024 * MIB),
    "max_nesting_depth": (2, SERIALISABLE_DEPTH),
}
_HINT = "Remove file_limits to use the defaults, or see the reliability page of the docs for each limit"

DEFAULTS = FileLimits()
_current: FileLimits = DEFAULTS


def configure(limits: FileLimits) -> None:
    """Make `limits` the ones every parser applies from now on (set once per command)."""
    global _current
    _current = limits


def current() -> FileLimits:
    return _current


class FileLimitExceeded(ExportsError):
    """A file holds a line, cell or nesting deeper than the configured limit: read no further."""

    failure_type = ConfigError.failure_type


def exceeded(what: str, limit_name: str, limit: int, file_name: str, row: Optional[int]) -> FileLimitExceeded:
    """The error for a limit hit: which limit, its value, the file and row, and how to raise it."""
    unit = "levels" if limit_name == "max_nesting_depth" else "bytes"
    return FileLimitExceeded(
        f"{what} exceeds the limit of {limit:,} {unit} (file_limits.{limit_name})",
        file=file_name,
        row=row,
        hint="The file is damaged or hostile (rows before this one were read); if such rows are expected, "
        f"raise file_limits.{limit_name} in the config",
    )


def spec_block() -> Dict[str, Any]:
    """The `file_limits` property of the connector spec."""
    descriptions = {
        "max_record_bytes": "Largest row a file may hold: one CSV line, one JSON Lines line, one item of a "
        "JSON array, one JUnit test case or one Parquet row, in bytes. A longer one fails the file naming the row.",
        "max_field_bytes": "Largest single CSV cell, JSON string value, JUnit XML element text or Parquet "
        "string value, in bytes. A longer one fails the file naming the row.",
        "max_nesting_depth": "Deepest nesting of arrays and objects in one JSON record (the record itself is "
        f"level 1), or of elements in a JUnit report; at most {SERIALISABLE_DEPTH}, since deeper records cannot "
        "be written.",
    }
    titles = {
        "max_record_bytes": "Maximum row size (bytes)",
        "max_field_bytes": "Maximum field size (bytes)",
        "max_nesting_depth": "Maximum JSON nesting depth",
    }
    return {
        "type": "object",
        "title": "File limits",
        "description": "Ceilings that protect the connector's memory from damaged or hostile files "
        "(decompression bombs, giant cells, absurd nesting). The defaults suit every real export; "
        "change them only if a file is refused with a message naming one of them.",
        "additionalProperties": False,
        "properties": {
            item.name: {
                "type": "integer",
                "title": titles[item.name],
                "description": descriptions[item.name],
                "default": item.default,
                "examples": [item.default],
                "minimum": RANGES[item.name][0],
                "maximum": RANGES[item.name][1],
            }
            for item in fields(FileLimits)
        },
    }


class LimitSignal(Exception):
    """Raised where the file name or row is not known; the parser turns it into `FileLimitExceeded`."""

    def __init__(self, what: str, limit_name: str, limit: int) -> None:
        super().__init__(what)
        self.what, self.limit_name, self.limit = what, limit_name, limit

    def error(self, file_name: str, row: Optional[int]) -> FileLimitExceeded:
        return exceeded(self.what, self.limit_name, self.limit, file_name, row)


def bounded_lines(readline: Callable[[int], AnyStr], limit: int, what: str) -> Iterator[AnyStr]:
    """The lines `readline` gives, each read with a cap so a line without end is never held whole."""
    while True:
        line = readline(limit + 1)
        if not line:
            return
        if len(line) > limit:
            raise LimitSignal(what, "max_record_bytes", limit)
        yield line


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = bytes(code for code in range(256) if code not in b"[]{}")
_NOT_OPENING = bytes(code for code in range(256) if code not in b"[{\n")


def nesting_depth(text: bytes) -> int:
    """How deeply arrays and objects nest in one JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for code in _JSON_STRING.sub(b"", text).translate(None, _NOT_BRACKET):
        if code in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def deeper_lines_possible(block: bytes, limit: int) -> bool:
    """False when no line of `block` holds more than `limit` opening brackets, so none nests deeper:
    one C-speed pass over the block and a search over the brackets it leaves."""
    return (
        _RUN_PAST.setdefault(limit, re.compile(rb"[^\n]{%d}" % (limit + 1))).search(block.translate(None, _NOT_OPENING))
        is not None
    )


_RUN_PAST: Dict[int, Any] = {}


def check_depth(text: bytes, limit: int) -> None:
    """Raise `LimitSignal` when the JSON `text` nests deeper than `limit` (cheap unless it might)."""
    if text.count(b"{") + text.count(b"[") > limit and nesting_depth(text) > limit:
        raise LimitSignal("A JSON record's nesting", "max_nesting_depth", limit)
