"""Schema inference is conservative and never drops a column."""

from source_exports.download.schema import infer_schema, merge_properties, permissive_schema


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


def test_given_ragged_csv_rows_when_inferring_untyped_then_surplus_cells_are_an_array_and_text_stays_text():
    schema = infer_schema([{"a": "1", "_ab_extra_values": ["x"]}, {"a": None}], typed_values=False)
    assert schema["properties"] == {"a": {"type": ["null", "string"]}, "_ab_extra_values": {"type": ["null", "array"]}}


def test_given_nested_values_mixed_with_others_when_inferring_then_every_type_seen_is_declared():
    schema = infer_schema([{"v": {"n": 1}}, {"v": [1, 2]}, {"v": "text"}])
    assert schema["properties"]["v"] == {"type": ["null", "array", "object", "string"]}


def test_given_columns_of_two_files_when_merged_then_every_column_is_declared_with_both_types():
    properties = {"a": {"type": ["null", "string"]}, "b": {"type": ["null", "integer"]}}
    merge_properties(properties, {"b": {"type": ["null", "number"]}, "c": {"type": ["null", "boolean"]}})
    assert properties == {
        "a": {"type": ["null", "string"]},
        "b": {"type": ["null", "number"]},
        "c": {"type": ["null", "boolean"]},
    }
