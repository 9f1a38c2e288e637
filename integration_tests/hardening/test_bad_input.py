"""The bad-input matrix: wrong credentials and identifiers, broken files, hostile paths and bad state.

Each case expects one message that names what is wrong (vendor field, file and row, state key)
and what to do, no Python traceback anywhere in the output (the `cli` runner checks every line),
and nothing dropped silently: a row that cannot be parsed fails its stream naming the row, and
odd-but-readable rows (ragged, NUL bytes) are kept and reported. Cases sharing one vendor run
share one CLI run (a module fixture) and are asserted one per test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator

import pytest

from integration_tests.cli import CliResult
from integration_tests.fake_servers import FakeVendors
from integration_tests.fake_servers.posthog import WRITE
from integration_tests.hardening.harness import Figures, Runner, catalog_of, compare, stream_errors, warnings

pytestmark = pytest.mark.e2e

SPAAZA_FILES: Dict[str, tuple] = {
    # index: (format, raw bytes of the newest DONE export)
    "transactions": ("csv", b"id,total,note\n1,2.50,ok\n2,3.00,caf\xe9 latin-1\n3,1.00,after\n"),
    "users": ("csv", b"id,name,note\n1,nul\x00inside,x\n2,ragged,x,surplus\n3,short\n"),
    "vouchers": ("json", b'[{"id": 1, "code": "A"}, {"id": 2, "code": "B"}, {"id": 3, "co'),
    "wallet-ledger": ("csv", b""),
    "products": ("csv", b"id,name,price\n"),
    "product-variants": ("csv", b'id,name\n1,"an open quote\n2,swallowed\n'),
}


@pytest.fixture(scope="module")
def module_runner() -> Runner:
    return Runner(Figures(case="bad-input fixtures"))


@pytest.fixture(scope="module")
def bad_tokens(module_runner: Runner) -> Iterator[Dict[str, str]]:
    """One `check` with a wrong secret for every vendor: the message names each vendor's failure."""
    with FakeVendors() as fakes:
        config = fakes.config()
        config["cargo"]["api_token"] = "wrong-cargo-token-0001"
        config["sourcecraft"]["api_token"] = "wrong-sourcecraft-token-0002"
        config["spaaza"]["access_token_secret"] = "wrong-spaaza-secret-0003"
        config["posthog"]["api_key"] = "phx_wrong_posthog_key_0004"
        status = module_runner.run("check", config).connection_status
        assert status["status"] == "FAILED"
        yield split_by_vendor(status["message"])
        assert fakes.storage.auth_header_violations == 0


def split_by_vendor(message: str) -> Dict[str, str]:
    parts: Dict[str, str] = {}
    for part in message.split("; "):
        title, _, text = part.partition(": ")
        if title in ("Cargo", "SourceCraft", "Spaaza", "PostHog"):
            parts[title] = text
        elif parts:
            parts[list(parts)[-1]] += "; " + part
    return parts


@pytest.mark.parametrize(
    "vendor, expected",
    [
        ("Cargo", ["token rejected", "cargo.api_token"]),
        ("SourceCraft", ["invalid or expired", "request_id"]),
        ("Spaaza", ["token rejected", "access_token"]),
        ("PostHog", ["personal API key"]),
    ],
)
def test_given_a_wrong_token_per_vendor_when_checking_then_the_message_names_the_vendor_and_the_fix(
    bad_tokens, figures, vendor, expected
):
    assert vendor in bad_tokens, bad_tokens
    for text in expected:
        assert text.lower() in bad_tokens[vendor].lower(), bad_tokens[vendor]


BAD_FIELDS = {
    "cargo": (
        ("run_outputs", 0, "workflow_uuid"),
        "d2c4e6f8-1a3b-1c5d-9e7f-0a1b2c3d4e5f",
        ["cargo.run_outputs[0].workflow_uuid", "d2c4e6f8-1a3b-1c5d-9e7f-0a1b2c3d4e5f"],
    ),
    "sourcecraft": (("repo_slug",), "no-such-repo", ["no-such-repo"]),
    "spaaza": (("exports",), ["users", "loyalty-points"], ["spaaza.exports", "loyalty-points", "transactions"]),
    "posthog": (("organization_id",), "not-a-uuid", ["posthog.organization_id", "not-a-uuid"]),
}


@pytest.mark.parametrize("vendor", list(BAD_FIELDS))
def test_given_a_malformed_identifier_per_vendor_when_checking_then_the_message_names_the_field(cli, figures, vendor):
    path, value, expected = BAD_FIELDS[vendor]
    with FakeVendors(vendors=[vendor]) as fakes:
        config = fakes.config()
        target = config[vendor]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        status = cli.run("check", config).connection_status
        assert status["status"] == "FAILED"
        for text in expected:
            assert text in status["message"], status["message"]


def test_given_a_posthog_key_without_scopes_when_checking_and_reading_then_the_missing_scope_is_named(cli, figures):
    with FakeVendors(vendors=["posthog"]) as fakes:
        fakes.posthog.scopes = set()
        status = cli.run("check", fakes.config()).connection_status
        assert status["status"] == "FAILED" and "batch_export:read" in status["message"]
        fakes.posthog.scopes = {"batch_export:read"}
        result = cli.run("read", fakes.config(), catalog_of([("posthog_events", True, ["_inserted_at"])]))
        error = stream_errors(result)["posthog_events"]
        assert WRITE in error["message"] and error["failure_type"] == "config_error"


@pytest.fixture(scope="module")
def bad_files(module_runner: Runner) -> Iterator[CliResult]:
    """One read of six Spaaza export streams, each whose newest DONE export is a broken or odd file."""
    with FakeVendors(vendors=["spaaza"]) as fakes:
        for index, (file_format, raw) in SPAAZA_FILES.items():
            task = fakes.spaaza.add_done_export(index, export_format=file_format, last_run=fakes.spaaza.clock)
            fakes.storage.put_bytes(fakes.spaaza.file_key(task), raw)
        config = fakes.config()
        config["spaaza"]["exports"] = list(SPAAZA_FILES)
        streams = [(f"spaaza_{index.replace('-', '_')}", False, []) for index in SPAAZA_FILES]
        result = module_runner.run("read", config, catalog_of(streams))
        yield result
        assert fakes.storage.auth_header_violations == 0


def file_rows(result: CliResult, stream: str) -> list:
    return [
        {k: v for k, v in row.items() if not k.startswith("_ab_") or k == "_ab_extra_values"}
        for row in result.records(stream)
    ]


def test_given_a_non_utf8_csv_when_reading_then_the_stream_fails_naming_file_and_row(bad_files, figures):
    error = stream_errors(bad_files)["spaaza_transactions"]
    assert "not valid UTF-8" in error["message"] and "Transaction_Export-" in error["message"]
    assert "row: 2" in error["message"] and "UTF-8 export" in error["message"]
    assert error["failure_type"] == "config_error"


def test_given_nul_bytes_and_ragged_rows_when_reading_then_rows_are_kept_exactly_and_reported(bad_files, figures):
    assert "spaaza_users" not in stream_errors(bad_files)
    expected = [
        {"id": "1", "name": "nul\x00inside", "note": "x"},
        {"id": "2", "name": "ragged", "note": "x", "_ab_extra_values": ["surplus"]},
        {"id": "3", "name": "short", "note": None},
    ]
    comparison = compare(expected, file_rows(bad_files, "spaaza_users"), drop=())
    figures.add(comparison)
    assert comparison.exact, comparison.examples
    assert warnings(bad_files, r"User_Export-\d+\.csv: row 2 has 4 cells, the header has 3")
    assert warnings(bad_files, r"User_Export-\d+\.csv: row 3 has 2 cells")


def test_given_a_json_file_that_ends_early_when_reading_then_the_stream_fails_naming_file_and_item(bad_files, figures):
    error = stream_errors(bad_files)["spaaza_vouchers"]
    assert "Invalid JSON after item 2" in error["message"] and "Voucher_Export-" in error["message"]
    assert "row: 3" in error["message"] and "truncated" in error["message"]
    assert "\n" not in error["message"].strip()


def test_given_an_empty_file_when_reading_then_no_rows_and_a_warning_names_the_file(bad_files, figures):
    assert "spaaza_wallet_ledger" not in stream_errors(bad_files)
    assert bad_files.records("spaaza_wallet_ledger") == []
    assert warnings(bad_files, r"Wallet_Export-\d+\.csv: the file is empty")


def test_given_a_header_only_file_when_reading_then_no_rows_and_the_file_is_named_with_0_rows(bad_files, figures):
    assert "spaaza_products" not in stream_errors(bad_files)
    assert bad_files.records("spaaza_products") == []
    assert any(
        log["message"].startswith("Product_Export-") and ": 0 rows" in log["message"] for log in bad_files.logs
    ), "no log line names the header-only file"


def test_given_a_csv_quote_left_open_when_reading_then_the_stream_fails_naming_the_row(bad_files, figures):
    """The row parser used to glue the rest of the file into one cell: a row silently lost."""
    error = stream_errors(bad_files)["spaaza_product_variants"]
    assert "Malformed CSV" in error["message"] and "ProductVariant_Export-" in error["message"]
    assert "row: 1" in error["message"] and "re-run the export" in error["message"]
    assert bad_files.records("spaaza_product_variants") == []


def test_given_artifact_paths_that_try_to_escape_when_staging_files_then_kept_inside_and_each_named(
    cli, figures, tmp_path: Path
):
    staging = tmp_path / "staging"
    staging.mkdir()
    hostile = ["../../../../../../escape.txt", "/etc/abs.txt", "a/../../../../b.txt", "..\\..\\win.txt"]
    with FakeVendors(vendors=["sourcecraft"]) as fakes:
        slug = fakes.sourcecraft.add_run("success", {"evil": {"task": {"cube": []}}})
        for index, path in enumerate(hostile):
            fakes.sourcecraft.add_artifact((slug, "evil", "task", "cube"), path, "success", f"payload {index}".encode())
        config = {"sourcecraft": fakes.sourcecraft.config_block(workflows=["evil"])}
        result = cli.run(
            "read",
            config,
            catalog_of([("sourcecraft_artifact_files", False, [])]),
            env={"AIRBYTE_STAGING_DIRECTORY": str(staging)},
        )
        assert result.errors == []
        written = sorted(path for path in tmp_path.rglob("*") if path.is_file())
        assert len(written) == len(hostile)
        assert all(path.resolve().is_relative_to(staging.resolve()) for path in written)
        assert sorted(path.read_bytes() for path in written) == sorted(f"payload {i}".encode() for i in range(4))
        for path in hostile:
            assert warnings(result, "is unsafe"), path
        assert len(warnings(result, "is unsafe")) == len(hostile)


def test_given_a_malformed_state_when_reading_then_the_error_names_the_state_key_and_the_fix(cli, figures):
    with FakeVendors(vendors=["cargo"]) as fakes:
        state = [
            {
                "type": "STREAM",
                "stream": {"stream_descriptor": {"name": "cargo_runs"}, "stream_state": {"updatedAt": "yesterday-ish"}},
            },
        ]
        result = cli.run("read", fakes.config(), catalog_of([("cargo_runs", True, ["updatedAt"])]), state)
        error = stream_errors(result).get("cargo_runs") or result.errors[0]
        assert "state.cargo_runs.updatedAt" in error["message"] and "yesterday-ish" in error["message"]
        assert error["failure_type"] == "config_error" and result.records() == []


def test_given_a_state_file_that_is_not_airbyte_state_when_reading_then_a_clear_config_error(cli, figures):
    with FakeVendors(vendors=["cargo"]) as fakes:
        result = cli.run("read", fakes.config(), catalog_of([("cargo_runs", True, ["updatedAt"])]), ["garbage"])
        assert result.returncode != 0 and result.records() == []
        (error,) = result.errors
        assert error["failure_type"] == "config_error" and "--state" in error["message"]
        assert "reset this connection's state" in error["message"]


def test_given_a_legacy_whole_file_state_of_an_older_version_when_reading_then_refused_with_the_fix(cli, figures):
    """`{stream: state}` (before per-stream STATE messages) cannot be trusted stream by stream: named, not guessed."""
    with FakeVendors(vendors=["cargo"]) as fakes:
        legacy = {"cargo_runs": {"updatedAt": "2025-01-01T00:00:00.000Z"}}
        result = cli.run("read", fakes.config(), catalog_of([("cargo_runs", True, ["updatedAt"])]), legacy)
        assert result.records() == []
        (error,) = result.errors
        assert error["failure_type"] == "config_error" and "older version" in error["message"]


def test_given_a_stream_state_with_an_unknown_key_when_reading_then_it_starts_from_start_date(cli, figures):
    """A per-stream state whose cursor key this version does not know: nothing is skipped, everything is read."""
    with FakeVendors(vendors=["cargo"]) as fakes:
        state = [
            {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": "cargo_runs"},
                    "stream_state": {"updated_at_v0": "2099-01-01T00:00:00Z"},
                },
            }
        ]
        result = cli.run("read", fakes.config(), catalog_of([("cargo_runs", True, ["updatedAt"])]), state)
        assert result.errors == [], result.errors
        comparison = compare(fakes.cargo.runs_for(), result.records("cargo_runs"), drop=())
        figures.add(comparison)
        assert comparison.exact, comparison.examples
