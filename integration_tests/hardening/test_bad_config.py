"""Bad config files, bad state and absurd ranges: the connector's own message naming what is wrong.

A config file that is not a JSON object, a GLOBAL state, numbers out of range, invalid glob
patterns, a cursor in the future and starts before a vendor's data each get a message naming the
field (or the file / stream) and what to do, classified as `config_error` — never the CDK's
"Something went wrong". Starts before the vendor's data are moved up with a warning (no data can
be lost there) instead of planning thousands of export windows.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from integration_tests.fake_servers import FakeVendors
from integration_tests.hardening.harness import catalog_of, compare, warnings

pytestmark = pytest.mark.e2e

CARGO_RUNS = catalog_of([("cargo_runs", True, ["updatedAt"])])


def cargo_runs_state(cursor: str) -> list:
    return [
        {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": "cargo_runs"}, "stream_state": {"updatedAt": cursor}},
        }
    ]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("not json at all", "is not JSON (line 1: Expecting value)"),
        ('[{"cargo": {}}]', "holds a JSON list, not an object"),
        ("", "is empty"),
    ],
    ids=["not-json", "json-list", "empty"],
)
def test_given_a_config_file_that_is_not_a_json_object_when_checking_then_a_config_error_says_what_and_what_to_do(
    cli, figures, text, problem
):
    result = cli.run_with_config_text("check", text)
    (error,) = result.errors
    assert error["failure_type"] == "config_error", error
    assert problem in error["message"] and "(field: --config)" in error["message"], error["message"]
    assert "must be one JSON object with a block per vendor" in error["message"]
    assert "Something went wrong" not in error["message"]


def test_given_a_global_state_when_reading_then_a_config_error_names_the_state_and_the_fix(cli, figures):
    with FakeVendors(vendors=["cargo"]) as fakes:
        state = [{"type": "GLOBAL", "global": {"shared_state": {"cursor": "x"}, "stream_states": []}}]
        result = cli.run("read", fakes.config(), CARGO_RUNS, state)
        (error,) = result.errors
        assert error["failure_type"] == "config_error", error
        assert "The state holds GLOBAL state; this connector keeps per-stream (STREAM) state" in error["message"]
        assert "(field: --state)" in error["message"] and "reset this connection's state" in error["message"]
        assert result.records() == []


@pytest.mark.parametrize(
    "vendor, key, value, field",
    [
        ("cargo", "max_wait_days_for_unfinished_runs", 1e300, "cargo.max_wait_days_for_unfinished_runs"),
        ("spaaza", "chain_id", 10**30, "spaaza.chain_id"),
        ("spaaza", "job_timeout_minutes", 1e300, "spaaza.job_timeout_minutes"),
        ("sourcecraft", "artifact_paths", ["["], "sourcecraft.artifact_paths[0]"),
    ],
    ids=["cargo-max-wait-1e300", "spaaza-chain-id-10**30", "spaaza-job-timeout-1e300", "sourcecraft-glob-["],
)
def test_given_an_out_of_range_or_invalid_setting_when_checking_then_refused_naming_the_field(
    cli, figures, vendor, key, value, field
):
    with FakeVendors(vendors=[vendor]) as fakes:
        config = fakes.config()
        config[vendor][key] = value
        result = cli.run("check", config)
        messages = [error["message"] for error in result.errors]
        if not messages:
            status = result.connection_status
            assert status["status"] == "FAILED", status
            messages = [status["message"]]
        assert any(field in message for message in messages), messages
        assert not any("OverflowError" in message or "Something went wrong" in message for message in messages)


def test_given_a_cursor_in_the_future_when_reading_then_a_warning_names_it_and_the_stream_goes_on_from_now(
    cli, figures
):
    with FakeVendors(vendors=["cargo"]) as fakes:
        result = cli.run("read", fakes.config(), CARGO_RUNS, cargo_runs_state("2099-01-01T00:00:00.000Z"))
        assert result.errors == []
        warnings = [log["message"] for log in result.logs if log["level"] == "WARN"]
        assert any(
            "cargo_runs: the saved cursor 2099-01-01T00:00:00.000Z (state.cargo_runs.updatedAt) is in the future" in m
            and "Reset this stream's state" in m
            for m in warnings
        ), warnings
        assert result.records("cargo_runs") == []
        saved = [state["stream"]["stream_state"].get("updatedAt") for state in result.states]
        assert saved and all(value and value < "2099-01-01T00:00:00.000Z" for value in saved), saved


def test_given_a_sourcecraft_state_in_the_future_when_reading_then_a_warning_names_it_and_it_is_not_saved_again(
    cli, figures
):
    with FakeVendors(vendors=["sourcecraft"]) as fakes:
        state = [
            {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": "sourcecraft_runs"},
                    "stream_state": {"updated_at": "2099-01-01T00:00:00.000Z"},
                },
            }
        ]
        result = cli.run(
            "read", fakes.config(), catalog_of([("sourcecraft_runs", True, ["dates", "updated_at"])]), state
        )
        assert result.errors == []
        warnings = [log["message"] for log in result.logs if log["level"] == "WARN"]
        assert any("is in the future" in m and "state.sourcecraft_runs.updated_at" in m for m in warnings), warnings
        saved = [state["stream"]["stream_state"].get("updated_at") for state in result.states]
        assert "2099-01-01T00:00:00.000Z" not in saved, saved


def test_given_a_cursor_of_year_1_when_reading_then_it_starts_at_the_vendors_first_day_and_rows_are_exact(cli, figures):
    with FakeVendors(vendors=["cargo"]) as fakes:
        result = cli.run("read", fakes.config(), CARGO_RUNS, cargo_runs_state("0001-01-01T00:00:00.000Z"))
        assert result.errors == [], result.errors
        assert warnings(
            result,
            r"cargo_runs: state\.cargo_runs\.updatedAt 0001-01-01T00:00:00\.000Z is before any "
            r"data this stream can hold; starting at 2020-01-01T00:00:00\.000Z instead",
        )
        comparison = compare(fakes.cargo.runs_for(), result.records("cargo_runs"), drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples


def test_given_a_posthog_start_date_of_1990_when_reading_then_it_starts_at_posthogs_first_day_with_a_warning(
    cli, figures
):
    with FakeVendors(vendors=["posthog"]) as fakes:
        config: Dict[str, Any] = fakes.config(start_date="1990-01-01T00:00:00Z")
        catalog = catalog_of([("posthog_batch_export_runs", True, ["last_updated_at"])])
        result = cli.run("read", config, catalog)
        assert result.errors == [], result.errors
        assert warnings(
            result,
            r"posthog_batch_export_runs: start_date 1990-01-01T00:00:00\.000Z is before any data "
            r"this stream can hold; starting at 2020-01-01T00:00:00\.000Z instead",
        )


def test_given_a_posthog_events_sync_when_reading_then_the_planned_window_count_is_announced_before_any_export(
    cli, figures
):
    with FakeVendors(vendors=["posthog"]) as fakes:
        result = cli.run("read", fakes.config(), catalog_of([("posthog_events", True, ["_inserted_at"])]))
        assert result.errors == [], result.errors
        messages = [log["message"] for log in result.logs]
        (plan,) = [m for m in messages if m.startswith("posthog_events: ") and "export window(s) of up to" in m]
        first_export = next(index for index, m in enumerate(messages) if m.startswith("PostHog: created"))
        assert messages.index(plan) < first_export, "the plan must be announced before the first export job"
        planned = int(plan.split()[1])
        assert planned == len(fakes.posthog.exports), (plan, len(fakes.posthog.exports))
