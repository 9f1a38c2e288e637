"""Hostile and broken files: bounded memory, a classified error naming the file, and the other files still read.

Every bomb is generated at test time and is small on the wire: 2 MB of gzip that expands to 2 GiB
of NUL bytes, 64 KB of zstd that does the same, 200 KB of JSON nested 100,000 levels deep. Each
read runs the installed command through a wrapper that measures its peak RSS (VmHWM), which the
summary table shows. A file that breaks a limit fails naming the file, the row and the limit; a
damaged compressed file is downloaded once more before it fails as transient; an HTML page
served with status 200 is refused naming what the storage answered.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zlib
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from integration_tests.cli import CliResult
from integration_tests.fake_servers import FakeVendors
from integration_tests.fake_servers.cargo_dataset import ENRICH_WORKFLOW_UUID
from integration_tests.hardening.harness import Figures, Runner, catalog_of, compare, stream_errors

pytestmark = pytest.mark.e2e

ZEROS = bytes(1 << 20)
TEXT_MIB = (b"x" * 1023 + b"\n") * 1024
BOMB_SIZE = 2 << 30
PEAK_LIMIT_MB = 400
"""Far below the 1.5 GB the bombs used to cost, and above the ~100 MB baseline plus one 32 MiB line held twice."""
HUGE_VALUE = 256 << 20
"""One Parquet value of 256 MiB: read whole, it and its copies would cost well over `PEAK_LIMIT_MB`."""
RECORDS = "sourcecraft_artifact_records"
CUBE_PATH = ("build", "compile", "make")


def gzip_bomb(prefix: bytes, size: int = BOMB_SIZE, filler: bytes = ZEROS) -> bytes:
    """`prefix` then `size` bytes of `filler` (NUL bytes), as gzip: one compressed MiB repeated (about 1,000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(filler) + compressor.flush(zlib.Z_FULL_FLUSH)  # the same bytes for every MiB
    count = size // len(filler)
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(filler, crc)
    trailer = struct.pack("<II", crc, (len(prefix) + count * len(filler)) & 0xFFFFFFFF)
    return head + block * count + compressor.flush()[:-8] + trailer


def zstd_bomb(prefix: bytes, size: int = BOMB_SIZE) -> bytes:
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    return (
        compressor.compress(prefix)
        + b"".join(compressor.compress(ZEROS) for _ in range(size >> 20))
        + (compressor.flush())
    )


def nested_json(depth: int) -> bytes:
    return b'[{"id": 1, "deep": ' + b"[" * depth + b"]" * depth + b"}]"


def truncated_gzip(data: bytes) -> bytes:
    compressed = gzip.compress(data)
    return compressed[: len(compressed) - 20]


GOOD_CSV = b"id,name\n" + b"".join(b"%d,good %d\n" % (i, i) for i in range(1, 8))
GOOD_ROWS = [{"id": str(i), "name": f"good {i}"} for i in range(1, 8)]
GOOD_JSONL = b"".join(json.dumps({"n": i, "text": f"line {i}"}).encode() + b"\n" for i in range(1, 8))
GOOD_JSONL_ROWS = [{"n": i, "text": f"line {i}"} for i in range(1, 8)]
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable - please sign in</title></head>\n"
    b"<body><h1>Oops</h1><p>a,b,c</p><p>1,2,3</p></body></html>\n"
)
S3_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
)

# local path → (body maker, content type or None, rows the connector must read, what the error names);
# bodies are made when a test needs them, not when the module is collected
ARTIFACTS: Dict[str, Tuple[Callable[[], bytes], Any, List[Dict[str, Any]], List[str]]] = {
    "a/first.csv": (lambda: GOOD_CSV, None, GOOD_ROWS, []),
    "b/nul-bomb.csv.gz": (
        lambda: gzip_bomb(b"id,name\n1,"),
        None,
        [],
        ["CSV line", "file_limits.max_record_bytes", "row: 1"],
    ),
    "c/middle.csv": (lambda: GOOD_CSV, None, GOOD_ROWS, []),
    "d/truncated.csv.gz": (lambda: truncated_gzip(GOOD_CSV * 50), None, [], ["gzip data is damaged", "end-of-stream"]),
    "e/after-truncated.jsonl": (lambda: GOOD_JSONL, None, GOOD_JSONL_ROWS, []),
    "f/nested-300.json": (lambda: nested_json(300), None, [], ["nesting", "file_limits.max_nesting_depth", "row: 1"]),
    "g/after-nested.csv": (lambda: GOOD_CSV, None, GOOD_ROWS, []),
    "h/nested-100k.json": (lambda: nested_json(100_000), None, [], ["nesting", "200 levels"]),
    "i/zstd-bomb.jsonl.zst": (lambda: zstd_bomb(b'{"id": "'), None, [], ["JSON Lines line", "max_record_bytes"]),
    "j/giant-field.csv.gz": (
        lambda: gzip_bomb(b'id,note\n1,"', filler=TEXT_MIB),
        None,
        [],
        ["CSV field", "file_limits.max_field_bytes", "row: 1"],
    ),
    "k/error-page.csv": (lambda: HTML_PAGE, "text/html; charset=utf-8", [], ["text/html page", "Service Unavailable"]),
    "l/s3-error.csv": (lambda: S3_ERROR, "application/octet-stream", [], ["HTML/XML document", "AccessDenied"]),
    "la/huge-output.xml.gz": (
        lambda: gzip_bomb(b'<testsuites><testsuite name="s"><testcase name="a"><system-out>', filler=TEXT_MIB),
        None,
        [],
        ["JUnit XML element's text", "file_limits.max_field_bytes", "row: 1"],
    ),
    "m/last.jsonl.gz": (lambda: gzip.compress(GOOD_JSONL), None, GOOD_JSONL_ROWS, []),
}
BAD = [path for path, (_, _, _, named) in ARTIFACTS.items() if named]


@pytest.fixture(scope="module")
def module_runner() -> Runner:
    return Runner(Figures(case="hostile-file fixtures"))


@pytest.fixture(scope="module")
def sourcecraft_read(module_runner: Runner) -> Iterator[Tuple[CliResult, Any]]:
    """One read of a run whose cube holds good artifacts between every kind of hostile one."""
    with FakeVendors(vendors=["sourcecraft"]) as fakes:
        slug = fakes.sourcecraft.add_run("success", {CUBE_PATH[0]: {CUBE_PATH[1]: {CUBE_PATH[2]: []}}})
        for path, (make, content_type, _, _) in ARTIFACTS.items():
            body = make()
            artifact_id = fakes.sourcecraft.add_artifact((slug, *CUBE_PATH), path, "success", body)
            if content_type:
                fakes.storage.put_bytes(fakes.sourcecraft._storage_key(artifact_id, path), body, content_type)
        config = {"sourcecraft": fakes.sourcecraft.config_block(workflows=[CUBE_PATH[0]])}
        result = module_runner.run("read", config, catalog_of([(RECORDS, False, [])]), measure=True)
        yield result, fakes, slug, module_runner.figures.peak_rss_mb
        assert fakes.storage.auth_header_violations == 0


def label(slug: str, path: str) -> str:
    return "/".join((slug, *CUBE_PATH, path))


def rows_of(result: CliResult, file_label: str) -> List[Dict[str, Any]]:
    return [
        {key: value for key, value in row.items() if not key.startswith("_")}
        for row in result.records(RECORDS)
        if row["_ab_source_file"] == file_label
    ]


def error_lines(result: CliResult) -> List[str]:
    return [log["message"] for log in result.logs if log["level"] == "ERROR"]


def test_given_hostile_artifacts_between_good_ones_when_reading_then_every_good_artifact_is_read_exactly(
    sourcecraft_read, figures
):
    result, _, slug, peak = sourcecraft_read
    figures.peak_rss_mb = peak
    for path, (_, _, rows, named) in ARTIFACTS.items():
        if named:
            continue
        comparison = compare(rows, rows_of(result, label(slug, path)), drop=())
        figures.add(comparison)
        assert comparison.exact, (path, comparison.examples)


def test_given_hostile_artifacts_when_reading_then_memory_stays_bounded(sourcecraft_read, figures):
    """2 GiB bombs (gzip and zstd), a 2 GiB cell and JSON nested 100,000 deep, all in one process."""
    _, _, _, peak = sourcecraft_read
    figures.peak_rss_mb = peak
    assert peak < PEAK_LIMIT_MB, f"peak RSS {peak:.0f} MB"


@pytest.mark.parametrize("path", BAD)
def test_given_a_hostile_artifact_when_reading_then_an_error_names_the_file_and_what_failed(
    sourcecraft_read, figures, path
):
    result, _, slug, _ = sourcecraft_read
    lines = [line for line in error_lines(result) if label(slug, path) in line]
    assert len(lines) == 1, error_lines(result)
    for text in ARTIFACTS[path][3]:
        assert text in lines[0], lines[0]
    assert "This is a bug" not in lines[0] and "\n" not in lines[0]
    assert rows_of(result, label(slug, path)) == []


def test_given_hostile_artifacts_when_reading_then_the_stream_fails_once_counting_them(sourcecraft_read, figures):
    result, _, slug, _ = sourcecraft_read
    error = stream_errors(result)[RECORDS]
    assert f"{len(BAD)} artifact(s) could not be read" in error["message"]
    assert any(label(slug, path) in error["message"] for path in BAD)
    assert error["failure_type"] in ("config_error", "transient_error")
    assert result.returncode != 0


def test_given_a_truncated_gzip_artifact_when_reading_then_it_is_downloaded_again_before_failing(
    sourcecraft_read, figures
):
    result, fakes, slug, _ = sourcecraft_read
    downloads = [d for d in fakes.storage.downloads if d.key.endswith("truncated.csv.gz") and d.status == 200]
    assert len(downloads) >= 2
    assert any("downloading it again" in log["message"] and "truncated.csv.gz" in log["message"] for log in result.logs)


def replace_stored(
    fakes: FakeVendors, wanted: Callable[[str, int], bool], body: bytes, content_type: Any = None
) -> List[bytes]:
    """Serve `body` for every object the fakes store whose key (and 1-based index among stores) `wanted`
    picks; returns the bodies stored unchanged before the first replaced one, as they come."""
    storage = fakes.storage
    put_bytes, put_file = storage.put_bytes, storage.put_file
    stored = {"count": 0, "replaced": False}
    before: List[bytes] = []

    def chosen(key: str) -> bool:
        stored["count"] += 1
        stored["replaced"] = stored["replaced"] or wanted(key, stored["count"])
        return wanted(key, stored["count"])

    def new_put_bytes(key: str, data: bytes, kind: Any = None) -> None:
        replace = chosen(key)
        if not stored["replaced"]:
            before.append(data)
        put_bytes(key, body if replace else data, content_type if replace and content_type else kind)

    def new_put_file(key: str, path: str, kind: Any = None) -> None:
        if chosen(key):
            put_bytes(key, body, content_type)
        else:
            put_file(key, path, kind)

    storage.put_bytes, storage.put_file = new_put_bytes, new_put_file
    return before


CSV_STREAM, JSON_STREAM = "enriched_leads", "scored_accounts"
CARGO_CASES = {
    "csv-nul-bomb": (
        CSV_STREAM,
        lambda: gzip_bomb(b"runUuid,name\n1,"),
        None,
        "config_error",
        ["CSV line", "max_record_bytes"],
    ),
    "csv-html-page": (
        CSV_STREAM,
        lambda: HTML_PAGE,
        "text/html",
        "transient_error",
        ["text/html page", "Service Unavailable"],
    ),
    "csv-truncated": (
        CSV_STREAM,
        lambda: truncated_gzip(b"runUuid,name\n" + b"1,x\n" * 5000),
        None,
        "transient_error",
        ["gzip data", "end-of-stream"],
    ),
    "json-truncated": (
        JSON_STREAM,
        lambda: truncated_gzip(b"[" + b'{"runUuid": "1"},' * 5000 + b'{"runUuid": "2"}]'),
        None,
        "transient_error",
        ["gzip data", "end-of-stream"],
    ),
    "json-nested-100k": (
        JSON_STREAM,
        lambda: nested_json(100_000),
        None,
        "config_error",
        ["nesting", "file_limits.max_nesting_depth"],
    ),
}


@pytest.mark.parametrize("case", list(CARGO_CASES))
def test_given_a_hostile_cargo_export_when_reading_then_the_stream_fails_naming_the_file(cli, figures, case):
    stream, make, content_type, failure, named = CARGO_CASES[case]
    with FakeVendors(vendors=["cargo"]) as fakes:
        replace_stored(fakes, lambda key, _: key.startswith("cargo/"), make(), content_type)
        result = cli.run("read", fakes.config(), catalog_of([(stream, False, [])]), measure=True)
        error = stream_errors(result)[stream]
        for text in [*named, "outputs-"]:
            assert text in error["message"], error["message"]
        assert error["failure_type"] == failure and "This is a bug" not in error["message"]
        assert result.records(stream) == []
        assert figures.peak_rss_mb < PEAK_LIMIT_MB
        assert fakes.cargo.expected_output_rows(ENRICH_WORKFLOW_UUID, "enrich", format="csv")  # there was data


POSTHOG_CASES = {
    "nul-bomb": (lambda: gzip_bomb(b'{"uuid": "'), "config_error", ["JSON Lines line", "max_record_bytes"]),
    "truncated": (lambda: truncated_gzip(b'{"uuid": "x"}\n' * 5000), "transient_error", ["gzip data", "end-of-stream"]),
}


@pytest.mark.parametrize("case", list(POSTHOG_CASES))
def test_given_a_hostile_posthog_part_when_reading_then_the_window_fails_naming_the_part(cli, figures, case):
    make, failure, named = POSTHOG_CASES[case]
    with FakeVendors(vendors=["posthog"]) as fakes:
        earlier = replace_stored(fakes, lambda key, index: key.endswith(".jsonl.gz") and index == 2, make())
        config = fakes.config()
        config["posthog"]["export_concurrency"] = 1  # exports one after another: the second stored part is read second
        result = cli.run("read", config, catalog_of([("posthog_events", True, ["_inserted_at"])]), measure=True)
        error = stream_errors(result)["posthog_events"]
        for text in [*named, ".jsonl.gz"]:
            assert text in error["message"], error["message"]
        assert error["failure_type"] == failure and "This is a bug" not in error["message"]
        assert figures.peak_rss_mb < PEAK_LIMIT_MB
        (first_part,) = earlier
        expected = [json.loads(line)["uuid"] for line in gzip.decompress(first_part).splitlines()]
        assert [row["uuid"] for row in result.records("posthog_events")] == expected  # nothing after the bad part


def huge_value_parquet(size: int = HUGE_VALUE) -> bytes:
    """One event whose `properties` holds `size` bytes of 'a': a few KB of zstd Parquet."""
    offsets = pa.py_buffer(struct.pack("<ii", 0, size))
    value = pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(b"a" * size)])  # no str copy
    sink = io.BytesIO()
    pq.write_table(pa.table({"uuid": ["huge"], "properties": value}), sink, compression="zstd")
    return sink.getvalue()


def test_given_posthog_parquet_parts_with_a_huge_value_when_reading_then_the_read_fails_naming_part_row_and_limit(
    cli, figures
):
    """Every part holds one 256 MiB value (the windows' exports run concurrently, so which part is stored
    first is not fixed); read whole it would cost far more than `PEAK_LIMIT_MB`."""
    with FakeVendors(vendors=["posthog"]) as fakes:
        replace_stored(fakes, lambda key, _: key.endswith(".parquet"), huge_value_parquet())
        config = {"posthog": fakes.posthog.config_block(file_format="Parquet", compression="zstd")}
        result = cli.run("read", config, catalog_of([("posthog_events", True, ["_inserted_at"])]), measure=True)
        error = stream_errors(result)["posthog_events"]
        for text in ["A value of Parquet column 'properties' in row 1", "file_limits.max_field_bytes", ".parquet"]:
            assert text in error["message"], error["message"]
        assert "row: 1" in error["message"]
        assert error["failure_type"] == "config_error" and "This is a bug" not in error["message"]
        assert figures.peak_rss_mb < PEAK_LIMIT_MB
        assert result.records("posthog_events") == []
        assert any(download.key.endswith(".parquet") and download.status == 200 for download in fakes.storage.downloads)


def test_given_file_limits_in_the_config_when_reading_then_they_apply_and_bad_values_name_the_field(cli, figures):
    with FakeVendors(vendors=["sourcecraft"]) as fakes:
        slug = fakes.sourcecraft.add_run("success", {CUBE_PATH[0]: {CUBE_PATH[1]: {CUBE_PATH[2]: []}}})
        fakes.sourcecraft.add_artifact((slug, *CUBE_PATH), "x/shallow.json", "success", nested_json(5))
        config = {"sourcecraft": fakes.sourcecraft.config_block(workflows=[CUBE_PATH[0]])}
        catalog = catalog_of([(RECORDS, False, [])])
        assert cli.run("read", config, catalog).errors == []
        strict = cli.run("read", {**config, "file_limits": {"max_nesting_depth": 3}}, catalog)
        message = stream_errors(strict)[RECORDS]["message"]
        assert "exceeds the limit of 3 levels (file_limits.max_nesting_depth)" in message, message
        bad = cli.run("check", {**config, "file_limits": {"max_field_bytes": 10}})
        message = bad.connection_status["message"] if bad.of_type("CONNECTION_STATUS") else bad.errors[0]["message"]
        assert "file_limits.max_field_bytes" in message, message
