"""Dead and stalled storage, and retries that cannot duplicate work.

Storage that stalls mid-body is cut off after a short configured read timeout
(`SOURCE_EXPORTS_READ_TIMEOUT_SECONDS`, 0.3 s here) with a log line per stall; storage that answers
503 to everything stops the stream after a few files, naming the host and the count. Spaaza's
`POST /tasks` and `POST /tasks/{id}/execute` that took effect but answered 503 (or dropped the
connection) are looked up, never sent blindly again: one export task per export, exact rows.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

import pytest

from integration_tests.cli import CliResult
from integration_tests.fake_servers import ENRICH_WORKFLOW_UUID, FakeVendors
from integration_tests.fake_servers.base import DROP
from integration_tests.hardening.harness import catalog_of, compare, stream_errors, warnings

pytestmark = pytest.mark.e2e

READ_TIMEOUT = "0.3"
SHORT_READ_TIMEOUT = {"SOURCE_EXPORTS_READ_TIMEOUT_SECONDS": READ_TIMEOUT}
STALL_AT = 200  # past the CSV header: the bytes before the stall are parsed, the rest comes after a resume
STALL_SECONDS = 5.0  # far longer than the read timeout: only the timeout can end the wait
LEADS = catalog_of([("enriched_leads", False, [])])


def strip_metadata(record: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_ab_")}


def users_of(result: CliResult) -> List[Dict[str, Any]]:
    return [strip_metadata(record) for record in result.records("spaaza_users")]


def leads_of(fakes: FakeVendors) -> List[Dict[str, Any]]:
    return fakes.cargo.expected_output_rows(ENRICH_WORKFLOW_UUID, "enrich", format="csv")


def test_given_storage_that_stalls_mid_body_when_reading_then_it_reconnects_with_a_log_line_and_rows_are_exact(
    cli, figures
):
    with FakeVendors(vendors=["cargo"]) as fakes:
        fakes.storage.faults.stall_after(STALL_AT, STALL_SECONDS)
        result = cli.run("read", fakes.config(), LEADS, env=SHORT_READ_TIMEOUT)
        assert result.errors == [], result.errors
        comparison = compare(leads_of(fakes), [strip_metadata(r) for r in result.records("enriched_leads")], ())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
        stalls = warnings(result, rf"sent no data for {READ_TIMEOUT} s at byte {STALL_AT}; reconnecting \(1 of 5\)")
        assert len(stalls) == 1, [log["message"] for log in result.logs]
        assert any(d.range == f"bytes={STALL_AT}-" for d in fakes.storage.downloads), fakes.storage.downloads


def test_given_storage_that_stalls_and_then_sends_nothing_when_reading_then_a_classified_error_names_the_stall(
    cli, figures
):
    with FakeVendors(vendors=["cargo"]) as fakes:
        fakes.storage.faults.stall_after(STALL_AT, STALL_SECONDS)
        fakes.storage.faults.stall_after(0, STALL_SECONDS, times=5)  # every reconnect: headers, then silence
        failed = cli.run("read", fakes.config(), LEADS, env=SHORT_READ_TIMEOUT)
        error = stream_errors(failed)["enriched_leads"]
        assert error["failure_type"] == "transient_error", error
        host = fakes.storage.url.split("//", 1)[1]
        stalled = f"Storage host {host} stalled: no data for {READ_TIMEOUT} s (read timeout), 6 times in a row"
        assert f"{stalled} at byte {STALL_AT}" in error["message"], error["message"]
        assert "SOURCE_EXPORTS_READ_TIMEOUT_SECONDS" in error["message"]
        stall_line = rf"sent no data for {READ_TIMEOUT} s at byte {STALL_AT}; reconnecting \(\d of 5\)"
        heartbeats = warnings(failed, stall_line)
        assert len(heartbeats) == 5, heartbeats  # one line per stall: never silent longer than one read timeout
        fakes.storage.faults.clear()
        rerun = cli.run("read", fakes.config(), LEADS, env=SHORT_READ_TIMEOUT)
        comparison = compare(leads_of(fakes), [strip_metadata(r) for r in rerun.records("enriched_leads")], ())
        figures.add(comparison)
        assert rerun.errors == [] and comparison.exact, comparison.examples


def test_given_storage_answering_503_to_everything_when_reading_artifacts_then_the_stream_stops_naming_host_and_count(
    cli, figures
):
    with FakeVendors(vendors=["sourcecraft"]) as fakes:
        fakes.storage.faults.fail_next(503, times=10_000, retry_after=None)
        catalog = catalog_of([("sourcecraft_artifact_records", False, [])])
        failed = cli.run("read", fakes.config(), catalog, env={"SOURCE_EXPORTS_RETRY_BACKOFF_FACTOR": "0.01"})
        error = stream_errors(failed)["sourcecraft_artifact_records"]
        host = fakes.storage.url.split("//", 1)[1]
        assert error["failure_type"] == "transient_error", error
        assert f"Storage host {host} failed 3 files in a row; not trying the others" in error["message"], error
        attempts = len(fakes.storage.requests_to(r"^/bucket/"))
        assert attempts == 3 * 6, attempts  # three files, each the first try and 5 retries; no fourth file
        retries = [
            log["message"]
            for log in failed.logs
            if re.search(
                r"GET to 127\.0\.0\.1 failed \(HTTP 503\); "
                r"retrying \(\d retries left\)",
                log["message"],
            )
        ]
        assert len(retries) == 3 * 5, retries  # every retry says so: a retried download is never silent
        assert failed.records("sourcecraft_artifact_records") == []


@pytest.mark.parametrize("answer", [503, DROP], ids=["503", "dropped-connection"])
def test_given_spaaza_creating_the_task_then_failing_the_answer_when_reading_then_one_task_and_exact_rows(
    cli, figures, answer
):
    with FakeVendors(vendors=["spaaza"]) as fakes:
        config = fakes.config()
        config["spaaza"].update(exports=["users"], create_exports=True)
        fakes.spaaza.fail_after_acting("create", answer)
        result = cli.run("read", config, catalog_of([("spaaza_users", False, [])]))
        assert result.errors == [], result.errors
        assert len(fakes.spaaza.created_bodies) == 1, fakes.spaaza.created_bodies  # no second export task
        assert len(fakes.spaaza.requests_to(r"^/tasks$", method="POST")) == 1
        comparison = compare(fakes.spaaza.rows["users"], users_of(result), ())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
        assert warnings(result, r"Spaaza created the task anyway \(id \d+\): using it")


def test_given_spaaza_failing_before_creating_the_task_when_reading_then_it_creates_it_once_after_looking(cli, figures):
    with FakeVendors(vendors=["spaaza"]) as fakes:
        config = fakes.config()
        config["spaaza"].update(exports=["users"], create_exports=True)
        fakes.spaaza.faults.fail_next(503, times=1, path=r"^/tasks$")  # the first POST /tasks, before acting
        result = cli.run("read", config, catalog_of([("spaaza_users", False, [])]))
        assert result.errors == [], result.errors
        assert len(fakes.spaaza.created_bodies) == 1, fakes.spaaza.created_bodies
        assert len(fakes.spaaza.requests_to(r"^/tasks$", method="POST")) == 2
        comparison = compare(fakes.spaaza.rows["users"], users_of(result), ())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
        assert warnings(result, r"no task was created, creating it again")


@pytest.mark.parametrize("answer", [503, DROP], ids=["503", "dropped-connection"])
def test_given_spaaza_executing_the_task_then_failing_the_answer_when_reading_then_it_is_not_executed_again(
    cli, figures, answer
):
    with FakeVendors(vendors=["spaaza"]) as fakes:
        config = fakes.config()
        config["spaaza"].update(exports=["users"], create_exports=True)
        fakes.spaaza.fail_after_acting("execute", answer)
        result = cli.run("read", config, catalog_of([("spaaza_users", False, [])]))
        assert result.errors == [], result.errors
        assert len(fakes.spaaza.requests_to(r"^/tasks/\d+/execute$", method="POST")) == 1
        comparison = compare(fakes.spaaza.rows["users"], users_of(result), ())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
        assert warnings(result, r"task \d+ is (INPROGRESS|DONE) already: not again")
