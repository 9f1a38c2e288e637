"""Security checks: no vendor credential reaches storage, no secret or signed-URL query is ever printed.

Every CLI run of the whole hardening suite is already scanned line by line by `harness.Runner`
(secrets, `X-Amz-*` query parameters, tracebacks). These cases add the runs most likely to leak:
file reads with re-minted URLs, failures whose messages quote URLs and vendor answers, and
every vendor's storage traffic checked for an `Authorization` header.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from integration_tests.cli import configured_catalog
from integration_tests.fake_servers import FakeVendors
from integration_tests.hardening.harness import SIGNED_URL_MARKERS, catalog_of, output_violations, secrets_of

pytestmark = pytest.mark.e2e

FILE_STREAMS = [
    ("enriched_leads", False, []),
    ("scored_accounts", False, []),
    ("sourcecraft_artifact_records", False, []),
    ("spaaza_users", False, []),
    ("posthog_events", True, ["_inserted_at"]),
]


def test_given_every_vendor_with_storage_faults_when_reading_files_then_no_secret_no_signature_no_auth_to_storage(
    cli, figures
):
    with FakeVendors() as fakes:
        config = fakes.config()
        fakes.storage.faults.expire_next(times=2)  # re-minting puts fresh signed URLs through the code paths
        fakes.storage.faults.cut_after(64, times=2)
        result = cli.run("read", config, catalog_of(FILE_STREAMS))
        assert result.errors == [], result.errors
        assert all(result.records(name) for name, _, _ in FILE_STREAMS if name != "scored_accounts")
        assert fakes.storage.auth_header_violations == 0
        assert len(fakes.storage.downloads) >= len(FILE_STREAMS)


def test_given_failures_quoting_urls_and_vendor_answers_when_reading_then_messages_hold_no_signed_query(cli, figures):
    with FakeVendors() as fakes:
        config = fakes.config()
        fakes.storage.faults.fail_next(404, times=50)  # every storage answer is an error quoting the URL
        result = cli.run("read", config, catalog_of(FILE_STREAMS))
        assert result.errors, "storage errors were expected to fail the file streams"
        quoted = [e["message"] for e in result.errors if "url: http" in e["message"]]
        assert quoted, "no error names the storage URL (it should, without its query)"
        assert all("?" not in message.split("url: ", 1)[1].split(")")[0] for message in quoted)
        assert fakes.storage.auth_header_violations == 0


def test_given_wrong_secrets_when_checking_then_neither_the_wrong_nor_the_fake_secret_is_printed(cli, figures):
    with FakeVendors() as fakes:
        good: Dict[str, Any] = fakes.config()
        bad = {key: dict(block) if isinstance(block, dict) else block for key, block in good.items()}
        bad["cargo"]["api_token"] = "cargo-secret-that-is-wrong"
        bad["posthog"]["api_key"] = "phx_secret_that_is_wrong"
        result = cli.run("check", bad, extra_secrets=secrets_of(good))
        assert result.connection_status["status"] == "FAILED"
        assert not output_violations(result, secrets_of(bad) + secrets_of(good))


def test_given_discover_with_every_vendor_when_sampling_files_then_no_secret_or_signature_in_the_catalog(cli, figures):
    with FakeVendors() as fakes:
        config = fakes.config()
        result = cli.run("discover", config)
        catalog_text = str(result.catalog)
        assert not any(marker in catalog_text for marker in SIGNED_URL_MARKERS)
        assert configured_catalog(result.catalog, ["enriched_leads"])["streams"]
        assert fakes.storage.auth_header_violations == 0
