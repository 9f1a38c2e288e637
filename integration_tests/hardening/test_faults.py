"""The fault matrix: every vendor's paged and file-backed streams under network, vendor and storage faults.

Generic faults run against one set of fakes holding all four vendors, reading every stream (but
SourceCraft's file-transfer stream) in one CLI run per fault, and are judged against a clean read
of the same fakes (itself checked value by value against the fakes' own data). A read must either
give exactly the clean read's rows, or fail with a classified error whose saved state, re-run
without faults, completes the data exactly (the failed run's rows after its last STATE are not
committed by a destination, so they do not count). Vendor-specific faults (job timeouts, export
caps, PostHog expiry and concurrency) use fresh fakes of that vendor.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Dict, Iterator, List

import pytest

from integration_tests.cli import CliResult, configured_catalog
from integration_tests.fake_servers import ENRICH_WORKFLOW_UUID, FakeVendors
from integration_tests.fake_servers.base import Request, Response
from integration_tests.fake_servers.spaaza import iso as spaaza_iso
from integration_tests.hardening.harness import (
    Figures,
    Runner,
    catalog_of,
    committed,
    compare,
    stream_errors,
    warnings,
)
from integration_tests.test_posthog_e2e import expected_event

pytestmark = pytest.mark.e2e

SKIPPED_STREAMS = {"sourcecraft_artifact_files"}  # file transfer: staged bytes, covered by test_sourcecraft_e2e
SNAPSHOT_STREAMS = {
    "sourcecraft_runs": "id",
    "sourcecraft_artifacts": "id",
    "cargo_runs": "uuid",
    "sourcecraft_artifact_records": "_sourcecraft_artifact_id",
    "posthog_batch_export_runs": "id",
}
"""Streams of mutable objects (and their key): an unfinished one is emitted again by the next sync, by design."""
CAP_ENV = "SOURCE_EXPORTS_MAX_RETRY_AFTER_SECONDS"
# (fake, path regex) of each vendor's paged API endpoints and file endpoints, GET only where POST is never retried
API_PATHS = {
    "cargo": ["runs/list", "plays", "download-outputs"],
    "sourcecraft": [r"/cicd/runs$", r"/artifacts"],
    "spaaza": [r"^/tasks$", "download_url"],
    "posthog": [r"/batch_exports/?$", r"/runs/?$", r"/logs/?$", r"file_download_batch_exports/[^/]+/download"],
}


class World:
    """One set of fakes (all vendors), its config and catalog, and the clean read every fault is judged by."""

    def __init__(self, fakes: FakeVendors, config: Dict[str, Any], catalog: Dict[str, Any], clean: CliResult):
        self.fakes, self.config, self.catalog, self.clean = fakes, config, catalog, clean
        self.streams = [entry["stream"]["name"] for entry in catalog["streams"]]
        self.incremental = {e["stream"]["name"] for e in catalog["streams"] if e["sync_mode"] == "incremental"}

    def clear_faults(self) -> None:
        self.fakes.storage.faults.clear()
        for fake in self.fakes.fakes.values():
            fake.faults.clear()

    def fault_every_vendor(self, status: int, times: int = 1, retry_after: Any = None, storage: bool = True) -> int:
        """Queue `status` on the first listed endpoint of each vendor (and storage); returns how many were queued."""
        kwargs = {} if retry_after is None else {"retry_after": retry_after}
        for key, paths in API_PATHS.items():
            self.fakes.fakes[key].faults.fail_next(status, times=times, path=paths[0], **kwargs)
        if storage:
            self.fakes.storage.faults.fail_next(status, times=times, **kwargs)
        return len(API_PATHS) + int(storage)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from integration_tests.hardening.harness import Figures as _Figures  # module fixture: its own runner

    with FakeVendors() as fakes:
        fakes.spaaza.add_done_export("transactions")
        config = fakes.config()
        config["spaaza"]["exports"] = ["users", "products", "transactions"]
        runner = Runner(_Figures(case="world"))
        discovered = runner.run("discover", config)
        assert discovered.returncode == 0, discovered.stderr
        names = [s["name"] for s in discovered.catalog["streams"] if s["name"] not in SKIPPED_STREAMS]
        catalog = configured_catalog(discovered.catalog, names, incremental=True)
        clean = runner.run("read", config, catalog)
        assert clean.errors == [], clean.errors
        yield World(fakes, config, catalog, clean)
        assert fakes.storage.auth_header_violations == 0


def assert_exact(world: World, result: CliResult, figures: Figures) -> None:
    """Every stream's rows equal the clean read's, value by value."""
    assert result.errors == [], result.errors
    problems = []
    for stream in world.streams:
        comparison = compare(world.clean.records(stream), result.records(stream))
        figures.add(comparison)
        if not comparison.exact:
            problems.append(f"{stream}: {comparison.lost} lost, {comparison.duplicated} dup. {comparison.examples}")
    assert not problems, problems


def assert_fails_then_resumes_exactly(world: World, cli: Runner, failed: CliResult, figures: Figures) -> None:
    """Failed streams carry a classified error; re-running from the saved state completes every stream exactly."""
    errors = stream_errors(failed)
    assert errors, "the fault was expected to fail at least one stream"
    for stream, error in errors.items():
        assert error["failure_type"] in ("transient_error", "config_error", "system_error"), error
        assert stream in world.streams
    world.clear_faults()
    rerun = cli.run("read", world.config, world.catalog, failed.last_state())
    assert rerun.errors == [], rerun.errors
    problems = []
    for stream in world.streams:
        kept = committed(failed, stream) if stream in world.incremental else []
        if stream in SNAPSHOT_STREAMS:  # a run still going is read again next sync: the newer copy supersedes
            key = SNAPSHOT_STREAMS[stream]
            again = {row[key] for row in rerun.records(stream)}
            kept = [row for row in kept if row[key] not in again]
        comparison = compare(world.clean.records(stream), kept + rerun.records(stream))
        figures.add(comparison)
        if not comparison.exact:
            problems.append(f"{stream}: {comparison.lost} lost, {comparison.duplicated} dup. {comparison.examples}")
    assert not problems, problems


def test_given_clean_fakes_when_reading_every_stream_then_records_equal_the_fakes_data(world, figures):
    """The reference the matrix compares with is itself exact against the fakes' data."""
    fakes, clean = world.fakes, world.clean
    checks = [
        (fakes.cargo.plays, clean.records("cargo_plays")),
        (fakes.sourcecraft.expected_runs(), clean.records("sourcecraft_runs")),
        (fakes.cargo.runs_for(), clean.records("cargo_runs")),
    ]
    for index in ("users", "products", "transactions"):
        records = clean.records(f"spaaza_{index}")
        checks.append((fakes.spaaza.rows[index], [strip_metadata(r) for r in records]))
    windows = sorted((e.start, e.end) for e in fakes.posthog.exports.values())
    events = [expected_event(raw) for raw in fakes.posthog.events_between(windows[0][0], windows[-1][1])]
    checks.append((events, [strip_metadata(r) for r in clean.records("posthog_events")]))
    for expected, got in checks:
        comparison = compare(expected, got, drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
    assert all(clean.records(stream) for stream in world.streams if stream != "posthog_batch_export_logs"), {
        stream: len(clean.records(stream)) for stream in world.streams
    }


def strip_metadata(record: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_ab_")}


def test_given_429_with_retry_after_on_every_vendor_and_storage_when_reading_then_rows_are_exact(world, cli, figures):
    world.clear_faults()
    world.fault_every_vendor(429, retry_after=1)
    result = cli.run("read", world.config, world.catalog)
    assert_exact(world, result, figures)
    assert all(fake.faults.take_failure("/never") is None for fake in world.fakes.fakes.values())


def test_given_absurd_retry_after_when_reading_then_wait_is_capped_logged_and_rows_are_exact(world, cli, figures):
    world.clear_faults()
    queued = world.fault_every_vendor(429, retry_after=100000)
    started = time.monotonic()
    result = cli.run("read", world.config, world.catalog, env={CAP_ENV: "0.5"})
    assert time.monotonic() - started < 60
    assert_exact(world, result, figures)
    capped = warnings(result, r"Server asked to wait 100000 s \(Retry-After\); waiting 0.5 s instead")
    assert len(capped) == queued, capped


def test_given_5xx_bursts_and_slow_answers_everywhere_when_reading_then_rows_are_exact(world, cli, figures):
    world.clear_faults()
    for fake in (*world.fakes.fakes.values(), world.fakes.storage):
        fake.faults.delay(0.2, times=2)
    for key, paths in API_PATHS.items():
        for path in paths:
            world.fakes.fakes[key].faults.fail_next(503, times=2, path=path)
    world.fakes.storage.faults.fail_next(502, times=2)
    world.fakes.storage.faults.fail_next(500, times=1)
    result = cli.run("read", world.config, world.catalog)
    assert_exact(world, result, figures)


def test_given_connections_cut_mid_download_when_reading_then_downloads_resume_and_rows_are_exact(world, cli, figures):
    world.clear_faults()
    world.fakes.storage.faults.cut_after(120, times=8)
    before = len(world.fakes.storage.downloads)
    result = cli.run("read", world.config, world.catalog)
    assert_exact(world, result, figures)
    assert any(d.range for d in world.fakes.storage.downloads[before:]), "no download resumed with Range"


def test_given_expired_urls_on_first_use_when_reading_then_urls_are_minted_again_and_rows_are_exact(
    world, cli, figures
):
    world.clear_faults()
    world.fakes.storage.faults.expire_next(times=3)  # three in a row for one file: within the re-mint budget
    before = len(world.fakes.storage.downloads)
    result = cli.run("read", world.config, world.catalog)
    assert_exact(world, result, figures)
    assert sum(d.status == 403 for d in world.fakes.storage.downloads[before:]) == 3


def test_given_a_body_truncated_on_every_attempt_when_reading_then_a_classified_failure_and_a_clean_resume(
    world, cli, figures
):
    world.clear_faults()
    world.fakes.storage.faults.cut_after(0, times=6)  # no byte gets through: the resume budget runs out
    failed = cli.run("read", world.config, world.catalog)
    (stream, error), *_ = stream_errors(failed).items()
    assert error["failure_type"] == "transient_error", error
    assert "Download kept failing after 5 resumes" in error["message"] and "file: " in error["message"]
    assert_fails_then_resumes_exactly(world, cli, failed, figures)


# ---------------------------------------------------------------- vendor-specific faults


def test_given_cargo_export_cap_of_20_runs_when_reading_then_windows_split_and_rows_are_exact(cli, figures):
    with FakeVendors(vendors=["cargo"], cargo={"max_runs_per_export": 20}) as fakes:
        config = fakes.config()
        catalog = catalog_of([("enriched_leads", False, [])])
        result = cli.run("read", config, catalog)
        assert result.errors == []
        expected = fakes.cargo.expected_output_rows(ENRICH_WORKFLOW_UUID, "enrich", format="csv")
        comparison = compare(expected, [strip_metadata(r) for r in result.records("enriched_leads")], drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
        assert any("tooManyRuns" in log["message"] or "splitting it in two" in log["message"] for log in result.logs)
        assert fakes.storage.auth_header_violations == 0


def test_given_storage_without_range_and_a_cut_when_reading_then_the_restart_skips_delivered_bytes(cli, figures):
    with FakeVendors(vendors=["cargo"], storage={"supports_range": False}) as fakes:
        fakes.storage.faults.cut_after(700, times=3)
        catalog = catalog_of([("enriched_leads", False, []), ("scored_accounts", False, [])])
        result = cli.run("read", fakes.config(), catalog)
        assert result.errors == []
        for stream, slug, fmt in (("enriched_leads", "enrich", "csv"), ("scored_accounts", "score", "json")):
            workflow = next(o["workflow_uuid"] for o in fakes.config()["cargo"]["run_outputs"] if o["name"] == stream)
            expected = fakes.cargo.expected_output_rows(workflow, slug, format=fmt)
            comparison = compare(expected, [strip_metadata(r) for r in result.records(stream)], drop=())
            figures.add(comparison)
            assert comparison.exact, (stream, comparison.examples)
        assert fakes.storage.auth_header_violations == 0


def test_given_spaaza_export_that_never_finishes_when_reading_then_timeout_then_rerun_is_exact(cli, figures):
    with FakeVendors(vendors=["spaaza"]) as fakes:
        config = fakes.config()
        config["spaaza"].update(exports=["users"], create_exports=True, job_timeout_minutes=0.005)
        catalog = catalog_of([("spaaza_users", False, [])])
        fakes.spaaza.never_finish()
        failed = cli.run("read", config, catalog)
        error = stream_errors(failed)["spaaza_users"]
        assert error["failure_type"] == "transient_error" and "did not finish within" in error["message"]
        assert "job_timeout_minutes" in error["message"] and failed.records() == []
        fakes.spaaza._never_finish = False  # the fake's switch has no "off": the export finishes next time
        rerun = cli.run("read", config, catalog, failed.last_state())
        comparison = compare(fakes.spaaza.rows["users"], [strip_metadata(r) for r in rerun.records("spaaza_users")], ())
        figures.add(comparison)
        assert rerun.errors == [] and comparison.exact, comparison.examples


def test_given_rows_on_spaaza_window_boundaries_when_syncing_incrementally_then_each_row_once(cli, figures):
    with FakeVendors(vendors=["spaaza"]) as fakes:
        spaaza = fakes.spaaza
        start = spaaza.clock - timedelta(days=70)
        boundaries = [start + timedelta(days=25), start + timedelta(days=50)]
        on_edges = [
            {"id": f"edge-{n}", "user_id": "1", "total": "9.99", "timestamp": spaaza_iso(moment), "note": "edge"}
            for n, moment in enumerate(boundaries)
        ]
        spaaza.add_rows("transactions", on_edges)
        config = fakes.config(start_date=spaaza_iso(start))
        config["spaaza"].update(exports=["transactions"], create_exports=True, window_days=25)
        result = cli.run("read", config, catalog_of([("spaaza_transactions", True, ["timestamp"])]))
        assert result.errors == []
        expected = [row for row in spaaza.rows["transactions"] if row["timestamp"] >= spaaza_iso(start)]
        comparison = compare(expected, [strip_metadata(r) for r in result.records("spaaza_transactions")], drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
        assert sum(r["id"].startswith("edge-") for r in result.records("spaaza_transactions")) == 2


def posthog_events_catalog() -> Dict[str, Any]:
    return catalog_of([("posthog_events", True, ["_inserted_at"])])


def posthog_expected(fakes: FakeVendors, result: CliResult) -> List[Dict[str, Any]]:
    windows = sorted((e.start, e.end) for e in fakes.posthog.exports.values())
    return [expected_event(raw) for raw in fakes.posthog.events_between(windows[0][0], windows[-1][1])]


def expire_on_download_call(fakes: FakeVendors, call_number: int) -> None:
    """The `call_number`-th PostHog download call finds its export expired (mid-window, after rows were read)."""
    posthog = fakes.posthog
    calls = {"count": 0}
    pattern = r"/api/environments/(?P<env>\d+)/file_download_batch_exports/(?P<id>[^/]+)/download/(?P<part>[^/]+)/?"

    def handler(request: Request) -> Response:
        calls["count"] += 1
        if calls["count"] == call_number:
            posthog.exports[request.params["id"]].expired = True
        return posthog._download(request)

    posthog.route("GET", pattern, handler)
    posthog._routes.insert(0, posthog._routes.pop())  # first match wins: this wrapper before the original


def test_given_posthog_export_expiring_mid_window_when_reading_then_no_row_is_emitted_twice(cli, figures):
    with FakeVendors(vendors=["posthog"]) as fakes:
        expire_on_download_call(fakes, 3)  # parts 1-2 of the first window were emitted, part 3 expires
        config = fakes.config()
        config["posthog"]["export_concurrency"] = 1  # one export at a time and one part at a time:
        config["posthog"]["download_concurrency"] = 1  # the third download call is the first window's part 3
        result = cli.run("read", config, posthog_events_catalog())
        assert result.errors == []
        records = [strip_metadata(r) for r in result.records("posthog_events")]
        comparison = compare(posthog_expected(fakes, result), records, drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
        assert sum(export.expired for export in fakes.posthog.exports.values()) == 1
        assert warnings(result, r"creating it again; its first \d+ rows were already emitted and will be skipped")


def test_given_posthog_export_expired_on_first_download_when_reading_then_rows_are_exact(cli, figures):
    with FakeVendors(vendors=["posthog"]) as fakes:
        fakes.posthog.faults.expire_export_next()
        result = cli.run("read", fakes.config(), posthog_events_catalog())
        assert result.errors == []
        comparison = compare(posthog_expected(fakes, result), [strip_metadata(r) for r in result.records()], drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples


def test_given_posthog_too_many_concurrent_downloads_when_reading_then_it_waits_and_rows_are_exact(cli, figures):
    with FakeVendors(vendors=["posthog"]) as fakes:
        fakes.posthog.faults.too_many_concurrent(times=2, retry_after=0)
        result = cli.run("read", fakes.config(), posthog_events_catalog())
        assert result.errors == []
        comparison = compare(posthog_expected(fakes, result), [strip_metadata(r) for r in result.records()], drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
        assert any("too many file downloads running" in log["message"] for log in result.logs)


def test_given_posthog_busy_beyond_the_retry_budget_when_reading_then_classified_failure_then_rerun_exact(cli, figures):
    with FakeVendors(vendors=["posthog"]) as fakes:
        config = fakes.config()
        config["posthog"]["concurrency_retries"] = 1
        config["posthog"]["export_concurrency"] = 1  # one export at a time: both refusals meet the same job
        fakes.posthog.faults.too_many_concurrent(times=2, retry_after=0)
        failed = cli.run("read", config, posthog_events_catalog())
        error = stream_errors(failed)["posthog_events"]
        assert error["failure_type"] == "transient_error" and "refused to start" in error["message"]
        assert "concurrency_retries" in error["message"]
        rerun = cli.run("read", config, posthog_events_catalog(), failed.last_state())
        assert rerun.errors == []
        union = committed(failed, "posthog_events") + rerun.records("posthog_events")
        comparison = compare(posthog_expected(fakes, rerun), [strip_metadata(r) for r in union], drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples


def test_given_posthog_poll_slower_than_the_job_timeout_when_reading_then_timeout_then_rerun_exact(cli, figures):
    with FakeVendors(vendors=["posthog"]) as fakes:
        config = fakes.config()
        config["posthog"]["poll_timeout_minutes"] = 0.01  # 0.6 s
        config["posthog"]["export_concurrency"] = 1  # the slow answers all go to the first window's job
        fakes.posthog.faults.delay(0.4, times=4)  # create + polls answer slowly: the job outlives the timeout
        failed = cli.run("read", config, posthog_events_catalog())
        error = stream_errors(failed)["posthog_events"]
        assert error["failure_type"] == "transient_error" and "poll_timeout_minutes" in error["message"]
        fakes.posthog.faults.clear()
        rerun = cli.run("read", config, posthog_events_catalog(), failed.last_state())
        assert rerun.errors == []
        union = committed(failed, "posthog_events") + rerun.records("posthog_events")
        comparison = compare(posthog_expected(fakes, rerun), [strip_metadata(r) for r in union], drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
