"""PostHogVendor: which streams a block yields, and what `check` calls."""

import logging

import pytest
import requests_mock as rm

from source_exports.config import CommonConfig
from source_exports.errors import ConfigError
from source_exports.vendors.posthog import VENDOR
from unit_tests.vendors.posthog.builders import page

API = "https://us.posthog.com"


def test_given_no_file_download_when_streams_then_only_batch_export_streams():
    streams = VENDOR.streams({"api_key": "k", "environment_id": "1"}, CommonConfig(None))
    assert [s.name for s in streams] == [
        "posthog_batch_exports",
        "posthog_batch_export_runs",
        "posthog_batch_export_logs",
    ]


def test_given_models_when_streams_then_one_stream_per_model_with_its_key():
    block = {"api_key": "k", "environment_id": "1", "file_download": {"models": ["events", "persons", "sessions"]}}
    streams = {s.name: s for s in VENDOR.streams(block, CommonConfig(None))}
    assert streams["posthog_events"].primary_key == "uuid"
    assert streams["posthog_persons"].primary_key == ["distinct_id"]
    assert streams["posthog_sessions"].primary_key is None
    assert "_inserted_at" in streams["posthog_persons"].get_json_schema()["properties"]


def test_given_every_stream_when_discovering_then_fixed_schemas_and_no_sample_call_to_posthog():
    """PostHog's export files have fixed columns per model, so the schema-sample rule never applies to PostHog."""
    block = {"api_key": "k", "environment_id": "1", "file_download": {"models": ["events", "persons", "sessions"]}}
    with rm.Mocker() as mock:  # any request would fail: no answer is registered
        streams = VENDOR.streams(block, CommonConfig(None))
        schemas = {stream.name: stream.get_json_schema() for stream in streams}
    assert not mock.called
    assert all(not stream.discovered_schema for stream in streams)
    assert all(schema["properties"] for schema in schemas.values())


def test_given_invalid_block_when_streams_then_config_error_without_network():
    with pytest.raises(ConfigError, match="posthog.window_days"):
        VENDOR.streams({"api_key": "k", "environment_id": "1", "window_days": 30}, CommonConfig(None))


def test_given_organization_and_file_downloads_when_check_then_org_listing_and_environment_are_both_probed(caplog):
    block = {"api_key": "k", "organization_id": "o1", "environment_id": "9", "file_download": {}}
    with rm.Mocker() as mock, caplog.at_level(logging.INFO):
        mock.get(f"{API}/api/organizations/o1/batch_exports/", json=page([], count=0))
        mock.get(f"{API}/api/environments/9/batch_exports/", json=page([], count=0))
        VENDOR.check(block, CommonConfig(None), logging.getLogger("test"))
        assert [(r.path, r.qs) for r in mock.request_history] == [
            ("/api/organizations/o1/batch_exports/", {"limit": ["1"]}),
            ("/api/environments/9/batch_exports/", {"limit": ["1"]}),
        ]
    assert "batch_export:write" in caplog.text


def test_given_spec_block_when_read_then_api_key_is_secret_and_compressions_are_the_decodable_ones():
    spec = VENDOR.spec_block()
    assert spec["properties"]["api_key"]["airbyte_secret"] is True
    assert spec["properties"]["file_download"]["properties"]["compression"]["enum"] == ["none", "gzip", "zstd"]
    assert spec["properties"]["window_days"]["maximum"] == 7
