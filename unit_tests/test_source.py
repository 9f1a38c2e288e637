"""SourceExports wiring: config errors name fields, check names the failing vendor."""

import logging

import pytest
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_exports import SourceExports

LOGGER = logging.getLogger("test")


def test_given_no_vendor_block_when_checking_then_failed_with_list_of_blocks():
    ok, message = SourceExports().check_connection(LOGGER, {"start_date": "2025-01-01T00:00:00Z"})
    assert ok is False and "No vendor is configured" in message


def test_given_bad_start_date_when_checking_then_message_names_the_field():
    ok, message = SourceExports().check_connection(LOGGER, {"start_date": "yesterday"})
    assert ok is False and "start_date" in message and "ISO-8601" in message


def test_given_no_vendor_block_when_listing_streams_then_config_error():
    with pytest.raises(AirbyteTracedException) as error:
        SourceExports().streams({})
    assert error.value.failure_type.value == "config_error"


def test_given_schemaless_and_a_run_output_primary_key_when_listing_streams_then_config_error_names_both():
    from unit_tests.vendors.cargo.builders import ConfigBuilder

    cargo = ConfigBuilder().with_output(primary_key=["recordId"]).build()
    with pytest.raises(AirbyteTracedException) as error:
        SourceExports().streams({"cargo": cargo, "schemaless": True})
    assert error.value.failure_type.value == "config_error"
    assert "primary_key" in error.value.message and "schemaless" in error.value.message


def test_given_schemaless_when_a_file_stream_lists_its_schema_then_data_is_one_object_beside_the_metadata():
    from unit_tests.vendors.cargo.builders import ConfigBuilder

    streams = {
        stream.name: stream
        for stream in SourceExports().streams({"cargo": ConfigBuilder().build(), "schemaless": True})
    }
    properties = streams["leads"].get_json_schema()["properties"]  # no sample export: nothing to mock
    assert properties["data"]["type"] == ["null", "object"]
    assert {"_ab_source_file", "_ab_source_row", "_ab_window_start"} <= set(properties)
    assert streams["cargo_runs"].get_json_schema()["properties"].get("data") is None
