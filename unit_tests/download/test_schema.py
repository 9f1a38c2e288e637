"""Schema inference is conservative and never drops a column."""

from source_exports.download.schema import infer_schema, permissive_schema


def test_given_typed_rows_when_inferring_then_types_are_nullable_unions():
    schema = infer_schema([{"a": 1, "b": "x", "c": None}, {"a": 2.5, "b": 3, "d": {"e": 1}}])
    assert schema["properties"] == {
        "a": {"type": ["null", "number"]},
        "b": {"type": ["null", "integer", "string"]},
        "c": {"type": ["null", "string"]},
        "d": {"type": ["null", "object"]},
    }
    assert schema["additionalProperties"] is True


def test_given_csv_rows_when_inferring_untyped_then_every_column_is_string():
    schema = infer_schema([{"zip": "00123"}], typed_values=False)
    assert schema["properties"]["zip"] == {"type": ["null", "string"]}


def test_given_known_columns_when_inferring_then_known_schemas_win():
    known = {"_ab_source_row": {"type": "integer"}}
    assert infer_schema([{"_ab_source_row": "7"}], known=known)["properties"] == known
    assert permissive_schema(known)["properties"] == known
