"""Conservative JSON schemas inferred from sample rows.

Every column is nullable; a column whose samples disagree on type gets every type seen; CSV
columns stay strings (guessing numbers from text loses leading zeros). Typed destinations keep
only declared columns, so a schema must declare every column the stream's rows carry (a stream
mixing files declares the union, `merge_properties`); `additionalProperties` stays true, and a
column that first appears after the sample is reported at read (`source_exports/schema_policy.py`).
"""

from __future__ import annotations

from typing import Any, Collection, Dict, Iterable, List, Mapping

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
                text = not typed_values and isinstance(value, str)  # untyped formats: text stays text
                seen.setdefault(column, set()).add("string" if text else json_type_of(value))
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


def merge_properties(properties: Dict[str, Any], more: Mapping[str, Any]) -> None:
    """Add `more`'s columns to `properties`; a column in both gets the union of their types."""
    for column, schema in more.items():
        if column not in properties:
            properties[column] = dict(schema)
            continue
        ours, theirs = properties[column].get("type"), schema.get("type")
        if ours != theirs and ours is not None and theirs is not None:
            properties[column] = {"type": merge_types(_types_of(ours) | _types_of(theirs))}


def _types_of(declared: Any) -> set:
    return set(declared if isinstance(declared, list) else [declared])


def widen_integers(properties: Mapping[str, Any], skip: Collection[str] = ()) -> None:
    """A sample of whole numbers says little about later rows: declare `number`, which also holds integers."""
    for name, column in properties.items():
        types = column.get("type")
        if name not in skip and isinstance(types, list) and "integer" in types:
            column["type"] = ["null", *sorted(set(types) - {"null", "integer"} | {"number"})]


def permissive_schema(known: Mapping[str, Any] = {}) -> Dict[str, Any]:
    """The fallback when no sample exists yet: only the known columns, anything else allowed."""
    return infer_schema([], known=known)
