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
