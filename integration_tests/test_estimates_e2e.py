"""ESTIMATE traces end to end: the installed `source-exports` command against the fake vendors.

Each stream whose size a vendor reveals gets STREAM estimates with running totals; the last one
must equal what the fake holds (runs and batch exports it lists, records_completed of its exports,
the bytes of the files it serves), and estimates must come before the records they announce.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

from integration_tests.cli import CliResult, configured_catalog, run_cli
from integration_tests.fake_servers import FakeVendors
from integration_tests.fake_servers.posthog import ENVIRONMENT_ID, FakePostHog
from integration_tests.fake_servers.sourcecraft import FakeSourceCraft
from integration_tests.fake_servers.spaaza import FakeSpaaza
from integration_tests.fake_servers.storage import FakeStorage
from integration_tests.test_cargo_e2e import direct_catalog
from integration_tests.test_posthog_e2e import catalog as posthog_catalog

pytestmark = pytest.mark.e2e


def estimates(result: CliResult, stream: str) -> List[Tuple[int, int]]:
    """(row_estimate, byte_estimate) of every ESTIMATE of `stream`, in output order; checks their shape."""
    found = []
    for message in result.of_type("TRACE"):
        if message["trace"]["type"] != "ESTIMATE" or message["trace"]["estimate"]["name"] != stream:
            continue
        estimate = message["trace"]["estimate"]
        assert estimate["type"] == "STREAM"
        assert isinstance(estimate["row_estimate"], int) and isinstance(estimate["byte_estimate"], int)
        found.append((estimate["row_estimate"], estimate["byte_estimate"]))
    return found


def assert_running_totals_before_records(result: CliResult, stream: str) -> Tuple[int, int]:
    """Totals never shrink, the first estimate precedes the stream's first record; returns the last one."""
    found = estimates(result, stream)
    assert found, f"no ESTIMATE for {stream}"
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(found, found[1:])), found
    kinds = [
        "ESTIMATE" if message["type"] == "TRACE" and message["trace"]["type"] == "ESTIMATE" else "RECORD"
        for message in result.messages
        if (message["type"] == "RECORD" and message["record"]["stream"] == stream)
        or (message["type"] == "TRACE" and (message["trace"].get("estimate") or {}).get("name") == stream)
    ]
    assert kinds[0] == "ESTIMATE", "the first estimate must come before the stream's records"
    return found[-1]


def served_bytes(storage: FakeStorage, prefix: str) -> int:
    """The size of every object the fake storage served in full (HTTP 200) under `prefix`."""
    return sum(
        len(storage.read(download.key))
        for download in storage.downloads
        if download.status == 200 and download.key.startswith(prefix)
    )


def read_ok(config: Dict[str, Any], catalog: Dict[str, Any]) -> CliResult:
    result = run_cli("read", config, catalog)
    assert result.returncode == 0 and result.errors == [], result.errors or result.stderr[-2000:]
    return result


def test_given_cargo_when_reading_runs_and_an_output_then_runs_count_rows_and_export_files_count_bytes():
    with FakeVendors(vendors=["cargo"]) as fakes:
        result = read_ok(fakes.config(), direct_catalog(["cargo_runs", "enriched_leads"], incremental=False))

        runs = assert_running_totals_before_records(result, "cargo_runs")
        assert runs == (len(fakes.cargo.runs_for()), 0)
        assert len(result.records("cargo_runs")) == runs[0]
        output = assert_running_totals_before_records(result, "enriched_leads")
        assert fakes.cargo.exports, "the fake built no export file"
        assert output == (0, sum(len(fakes.storage.read(key)) for key in fakes.cargo.exports))
        assert estimates(result, "cargo_plays") == []  # Cargo gives no count of plays


@pytest.mark.parametrize("file_format,compression", [("JSONLines", "gzip"), ("Parquet", "zstd")])
def test_given_posthog_when_reading_then_records_completed_rows_and_part_sizes_and_batch_export_count(
    file_format, compression
):
    with FakeStorage() as storage, FakePostHog(storage) as posthog:
        config = {"posthog": posthog.config_block(file_format=file_format, compression=compression)}
        result = read_ok(config, posthog_catalog(["posthog_batch_exports", "posthog_events"], incremental=False))

        exports = list(posthog.exports.values())
        assert exports and not any(export.expired for export in exports)
        rows = sum(export.rows for export in exports)
        size = sum(len(storage.read(key)) for export in exports for key in export.keys.values())
        assert assert_running_totals_before_records(result, "posthog_events") == (rows, size)
        assert len(result.records("posthog_events")) == rows
        listed = [be for be in posthog.batch_exports if be["team_id"] == ENVIRONMENT_ID]
        assert assert_running_totals_before_records(result, "posthog_batch_exports") == (len(listed), 0)


def test_given_spaaza_done_exports_when_reading_then_each_stream_estimates_its_files_bytes():
    with FakeStorage() as storage, FakeSpaaza(storage) as spaaza:
        config = {"spaaza": spaaza.config_block()}
        discovered = run_cli("discover", config)
        storage.downloads.clear()  # discover samples the files; count only what read downloads
        streams = ["spaaza_transactions", "spaaza_users"]
        result = read_ok(config, configured_catalog(discovered.catalog, streams))

        for stream, prefix in (("spaaza_transactions", "spaaza/Transaction_"), ("spaaza_users", "spaaza/User_")):
            size = served_bytes(storage, prefix)
            assert size > 0, f"nothing served for {stream}"
            assert assert_running_totals_before_records(result, stream) == (0, size)


def test_given_sourcecraft_reports_when_reading_records_then_the_artifacts_bytes_are_estimated():
    with FakeStorage() as storage, FakeSourceCraft(storage) as sourcecraft:
        config = {"sourcecraft": sourcecraft.config_block()}
        discovered = run_cli("discover", config)
        sampled = len(storage.downloads)  # discover samples reports: those downloads are not the read's
        result = read_ok(config, configured_catalog(discovered.catalog, ["sourcecraft_artifact_records"]))

        size = sum(len(storage.read(d.key)) for d in storage.downloads[sampled:] if d.status == 200)
        assert size > 0
        assert assert_running_totals_before_records(result, "sourcecraft_artifact_records") == (0, size)


def test_given_sourcecraft_file_transfer_when_reading_files_then_the_staged_bytes_are_estimated(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRBYTE_STAGING_DIRECTORY", str(tmp_path))
    with FakeStorage() as storage, FakeSourceCraft(storage) as sourcecraft:
        config = {"sourcecraft": sourcecraft.config_block()}
        discovered = run_cli("discover", config)
        sampled = len(storage.downloads)  # discover samples reports: those downloads are not the read's
        result = read_ok(config, configured_catalog(discovered.catalog, ["sourcecraft_artifact_files"]))

        staged = sum(record["bytes"] for record in result.records("sourcecraft_artifact_files"))
        served = sum(len(storage.read(d.key)) for d in storage.downloads[sampled:] if d.status == 200)
        assert staged > 0 and served == staged
        assert assert_running_totals_before_records(result, "sourcecraft_artifact_files") == (0, served)
