"""Conservative JSON schemas inferred from sample rows.

Every column is nullable; a column whose samples disagree on type gets every type seen; CSV
columns stay strings (guessing numbers from text loses leading zeros). `additionalProperties`
stays true so a column that first appears after the sample still reaches the destination.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping

from source_exports.download.parsers import Row

PYTHON_TO_JSON = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object", list: "array"}


def json_type_of(value: Any) -> str:
    """The JSON schema type name of a parsed value."""
    if value is None:
        return "null"
    return PYTHON_TO_JSON.get(type(value), "string")


def infer_schema(rows: Iterable[Row], typed_values: bool = True, known: Mapping[str, Any] = {}) -> Dict[str, Any]:
    """A JSON schema covering every column of `rows`; `known` columns keep their given schema."""
    seen: Dict[str, set] = {}
    for row in rows:
        for column, value in row.items():
            if column not in known:
                seen.setdefault(column, set()).add(json_type_of(value) if typed_values else "string")
    properties: Dict[str, Any] = {column: {"type": merge_types(types)} for column, types in seen.items()}
    properties.update(known)
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": True,
        "properties": properties,
    }


def merge_types(types: set) -> List[str]:
    """Nullable union of the types seen; integer folds into number when both appear."""
    merged = set(types) - {"null"}
    if {"integer", "number"} <= merged:
        merged.discard("integer")
    if not merged:
        merged = {"string"}
    return ["null", *sorted(merged)]


def permissive_schema(known: Mapping[str, Any] = {}) -> Dict[str, Any]:
    """The fallback when no sample exists yet: only the known columns, anything else allowed."""
    return infer_schema([], known=known)
