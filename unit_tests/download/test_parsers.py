"""Parsers: tricky CSV, streamed JSON arrays, JSON Lines, Parquet; errors name file and row."""

import io
import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from source_exports.download.formats import FORMATS, get_parser
from source_exports.errors import ConfigError, RecordParseError

LOGGER = logging.getLogger("test")


def parse(file_format: str, data: bytes) -> list:
    return list(get_parser(file_format).parse_records(io.BufferedReader(io.BytesIO(data)), "f.dat", LOGGER))


def test_given_quoted_newlines_bom_and_unicode_when_parsing_csv_then_values_are_exact():
    data = '\ufeffid,text,empty\n1,"line one\nline two",\n2,"say ""hi"", ok",x\n3,żółć 🚀,\n'.encode()
    assert parse("csv", data) == [
        {"id": "1", "text": "line one\nline two", "empty": ""},
        {"id": "2", "text": 'say "hi", ok', "empty": "x"},
        {"id": "3", "text": "żółć 🚀", "empty": ""},
    ]


def test_given_crlf_line_endings_and_nul_bytes_when_parsing_csv_then_rows_keep_data():
    assert parse("csv", b'a,b\r\n1\x002,"x\r\ny"\r\n') == [{"a": "1\x002", "b": "x\r\ny"}]


def test_given_ragged_rows_when_parsing_csv_then_rows_are_kept_and_reported(caplog):
    with caplog.at_level(logging.WARNING):
        rows = parse("csv", b"a,b\n1\n2,3,4,5\n")
    assert rows == [{"a": "1", "b": None}, {"a": "2", "b": "3", "_ab_extra_values": ["4", "5"]}]
    assert "row 1 has 1 cells" in caplog.text and "row 2 has 4 cells" in caplog.text


def test_given_a_repeated_header_name_when_parsing_csv_then_both_values_are_kept_and_a_warning_names_them(caplog):
    with caplog.at_level(logging.WARNING):
        rows = parse("csv", b"a,a,b,a\n1,2,3,4\n")
    assert rows == [{"a": "1", "a_2": "2", "b": "3", "a_3": "4"}]
    assert "'a' as 'a_2'" in caplog.text and "'a' as 'a_3'" in caplog.text


def test_given_header_only_or_empty_csv_when_parsing_then_no_rows():
    assert parse("csv", b"a,b\n") == []
    assert parse("csv", b"") == []


def test_given_non_utf8_bytes_when_parsing_csv_then_error_names_file_and_row():
    with pytest.raises(RecordParseError) as error:
        parse("csv", b"a\nok\n\xff\xfe bad\n")
    assert "f.dat" in str(error.value) and "not valid UTF-8" in str(error.value)


def test_given_json_array_when_parsing_then_items_stream_as_rows():
    assert parse("json", b' \n[{"a": 1, "b": null}, {"a": 2.5, "c": {"d": [1]}}, 3]') == [
        {"a": 1, "b": None},
        {"a": 2.5, "c": {"d": [1]}},
        {"value": 3},
    ]


def test_given_json_lines_or_concatenated_objects_when_parsing_json_then_each_value_is_a_row():
    assert parse("json", b'{"a": 1}\n{"a": 2}\n') == [{"a": 1}, {"a": 2}]
    assert parse("json", b'{\n "a": {"b": 1}\n}\n') == [{"a": {"b": 1}}]


def test_given_truncated_json_array_when_parsing_then_error_says_after_which_item():
    with pytest.raises(RecordParseError) as error:
        parse("json", b'[{"a": 1}, {"a": 2}, {"a"')
    assert "after item 2" in str(error.value) and "row: 3" in str(error.value)


def test_given_json_lines_with_blank_lines_when_parsing_then_blank_lines_skipped():
    assert parse("jsonl", b'{"a": 1}\n\n{"a": "x\\ny"}\n') == [{"a": 1}, {"a": "x\ny"}]


def test_given_broken_json_line_when_parsing_jsonl_then_error_names_line():
    with pytest.raises(RecordParseError) as error:
        parse("jsonl", b'{"a": 1}\n{"a": \n')
    assert "line 2" in str(error.value)


def test_given_parquet_with_timestamps_and_decimals_when_parsing_then_values_are_json_native():
    import datetime
    import decimal

    table = pa.table(
        {
            "id": pa.array([1, 2]),
            "ts": pa.array([datetime.datetime(2025, 1, 2, 3, 4, 5), None], pa.timestamp("us")),
            "amount": pa.array([decimal.Decimal("1.10"), decimal.Decimal("2.00")], pa.decimal128(5, 2)),
            "name": pa.array(["x", None]),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=1)
    assert parse("parquet", sink.getvalue()) == [
        {"id": 1, "ts": "2025-01-02T03:04:05", "amount": "1.10", "name": "x"},
        {"id": 2, "ts": None, "amount": "2.00", "name": None},
    ]


def test_given_garbage_when_parsing_parquet_then_error_names_file():
    with pytest.raises(RecordParseError) as error:
        parse("parquet", b"not parquet at all")
    assert "f.dat" in str(error.value)


def test_given_unknown_format_when_getting_parser_then_config_error_lists_formats():
    with pytest.raises(ConfigError) as error:
        get_parser("xlsx")
    for name in FORMATS:
        assert name in str(error.value)
