"""The `spaaza` block: defaults, and errors that name the field and list valid values."""

import pytest

from source_exports.errors import ConfigError
from source_exports.vendors.spaaza.config import EXPORT_INDEXES, SpaazaConfig, stream_name_of
from unit_tests.vendors.spaaza.builders import block


def test_given_minimal_block_when_parsing_then_defaults_apply():
    config = SpaazaConfig.from_block(block(poll_interval_seconds=None, job_timeout_minutes=None))
    assert config.exports == EXPORT_INDEXES
    assert (config.create_exports, config.export_format) == (False, "csv")
    assert (config.job_timeout_seconds, config.poll_interval_seconds, config.window_days) == (1800, 5, 30)
    assert config.authorization == "Bearer token-id:token-secret"


def test_given_trailing_slash_and_string_chain_when_parsing_then_normalised():
    config = SpaazaConfig.from_block(block(services_api_url="https://s.example/", chain_id="42"))
    assert (config.services_api_url, config.chain_id) == ("https://s.example", 42)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"services_api_url": None}, "spaaza.services_api_url"),
        ({"services_api_url": "services.example"}, "spaaza.services_api_url"),
        ({"access_token_secret": ""}, "spaaza.access_token_secret"),
        ({"chain_id": 0}, "spaaza.chain_id"),
        ({"chain_id": "abc"}, "spaaza.chain_id"),
        ({"exports": "users"}, "spaaza.exports"),
        ({"export_format": "xml"}, "spaaza.export_format"),
        ({"create_exports": "yes"}, "spaaza.create_exports"),
        ({"window_days": 1.5}, "spaaza.window_days"),
        ({"job_timeout_minutes": -1}, "spaaza.job_timeout_minutes"),
        ({"export_concurrency": 0}, "spaaza.export_concurrency"),
        ({"export_concurrency": 11}, "spaaza.export_concurrency"),
        ({"export_concurrency": 2.5}, "spaaza.export_concurrency"),
    ],
)
def test_given_invalid_setting_when_parsing_then_config_error_names_the_field(overrides, field):
    with pytest.raises(ConfigError) as error:
        SpaazaConfig.from_block(block(**overrides))
    assert error.value.context["field"] == field


def test_given_unknown_export_when_parsing_then_error_names_position_and_lists_valid_names():
    with pytest.raises(ConfigError) as error:
        SpaazaConfig.from_block(block(exports=["users", "wallet_ledger"]))
    assert error.value.context["field"] == "spaaza.exports[1]"
    assert "'wallet_ledger'" in error.value.user_message
    assert "transactions, users, vouchers, wallet-ledger, products, product-variants" in error.value.user_message


def test_given_repeated_export_when_parsing_then_config_error():
    with pytest.raises(ConfigError) as error:
        SpaazaConfig.from_block(block(exports=["users", "users"]))
    assert error.value.context["field"] == "spaaza.exports[1]" and "twice" in error.value.message


def test_given_dashed_index_when_naming_stream_then_underscores():
    assert stream_name_of("product-variants") == "spaaza_product_variants"


def test_given_no_export_concurrency_when_parsing_then_three_and_the_range_ends_accepted():
    assert SpaazaConfig.from_block(block()).export_concurrency == 3
    assert [SpaazaConfig.from_block(block(export_concurrency=n)).export_concurrency for n in (1, 10)] == [1, 10]
