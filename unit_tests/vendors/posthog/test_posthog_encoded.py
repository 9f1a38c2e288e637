"""`Encoded`: a chunk's records are `orjson.dumps(row)`; the replay content leaves out the per-export columns."""

import orjson
import pytest

from source_exports.download.row_tail import ROW_NUMBER, BareRows, TailText
from source_exports.errors import RecordParseError
from source_exports.vendors.posthog.streams import Encoded


def row(export_id, number, **content):
    file_name = f"{export_id}-part-0.jsonl"
    return {**content, "_ab_source_file": file_name, "_ab_source_row": number, "_ab_export_id": export_id}


METADATA = ("_ab_source_file", "_ab_source_row", "_ab_export_id")
TRICKY = {
    "uuid": "u-1",
    "properties": {"_ab_source_file": "nested", "q": '"_ab_source_file":"x"', "ü": [1.5, None]},
    "event": ',"_ab_source_file":',
}


def test_given_rows_when_encoded_then_each_record_is_the_row_as_orjson_writes_it():
    rows = [row("e-1", 1, **TRICKY), row("e-1", 2), row("e-1", 3, uuid="u-3")]
    encoded = Encoded([dict(item) for item in rows])
    assert encoded.error is None and encoded.rows == rows
    assert encoded.objects == [orjson.dumps(item) for item in rows]
    assert [orjson.loads(line) for line in encoded.batch(1).encoded()] == rows[1:]


def test_given_the_same_rows_of_two_exports_when_fingerprinted_then_equal_and_different_rows_differ():
    first = Encoded([row("e-1", 1, **TRICKY), row("e-1", 2, uuid="u-2")])
    again = Encoded([row("e-2", 7, **TRICKY), row("e-2", 8, uuid="u-2")])
    other = Encoded([row("e-1", 1, **TRICKY), row("e-1", 2, uuid="u-3")])
    assert first.fingerprints() == again.fingerprints() != other.fingerprints()
    assert first.fingerprints(0, 1) + first.fingerprints(1) == first.fingerprints()
    assert b"e-1" not in first.fingerprints() and b"nested" in first.fingerprints()
    assert Encoded([]).fingerprints() == b""


def test_given_a_row_nested_too_deeply_when_encoded_then_rows_before_it_and_an_error_naming_it():
    deep = {}
    for _ in range(300):
        deep = {"x": deep}
    encoded = Encoded([row("e-1", 1, uuid="a"), row("e-1", 2, properties=deep), row("e-1", 3)])
    assert [item["uuid"] for item in encoded.rows] == ["a"] and len(encoded.objects) == 1
    with pytest.raises(RecordParseError, match="cannot be written") as failure:
        raise encoded.error
    assert "e-1-part-0.jsonl" in str(failure.value)


def bare(rows, export_id="e-1", first=1):
    """`rows` as the bulk readers give them: without the metadata columns, which come as a tail."""
    tail = {"_ab_source_file": f"{export_id}-part-0.jsonl", "_ab_source_row": ROW_NUMBER, "_ab_export_id": export_id}
    return BareRows([dict(item) for item in rows], first, tail, TailText(tail))


@pytest.mark.parametrize("export_id", ["e-1", "e-%d-100%%s"])  # the tail is a bytes format: '%' is literal text
def test_given_bare_rows_when_encoded_then_the_same_records_fingerprints_and_columns_as_rows_with_metadata(export_id):
    contents = [TRICKY, {}, {"uuid": "u-3", "n": None}]
    tailed = Encoded([row(export_id, 41 + number, **item) for number, item in enumerate(contents)])
    chunk = bare(contents, export_id, first=41)
    encoded = Encoded(chunk.rows, chunk)
    assert encoded.objects == tailed.objects and encoded.fingerprints() == tailed.fingerprints()
    assert encoded.fingerprints(1) == tailed.fingerprints(1)
    assert encoded.batch(1).columns() == tailed.batch(1).columns() == {"uuid", "n", *METADATA}
    assert [orjson.loads(line) for line in encoded.batch(0).encoded()] == chunk.tailed()


def test_given_a_bare_row_nested_too_deeply_when_encoded_then_the_error_names_its_file_and_row():
    deep = {}
    for _ in range(300):
        deep = {"x": deep}
    chunk = bare([{"uuid": "a"}, {"properties": deep}, {"uuid": "c"}], export_id="e-9", first=7)
    encoded = Encoded(chunk.rows, chunk)
    assert encoded.objects == [
        b'{"uuid":"a","_ab_source_file":"e-9-part-0.jsonl","_ab_source_row":7,"_ab_export_id":"e-9"}'
    ]
    with pytest.raises(RecordParseError, match="cannot be written") as failure:
        raise encoded.error
    assert "e-9-part-0.jsonl" in str(failure.value) and "row: 8" in str(failure.value)
