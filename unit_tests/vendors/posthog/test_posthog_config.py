"""PostHogConfig: validation messages name the field and list valid values."""

import pytest

from source_exports.errors import ConfigError
from source_exports.vendors.posthog.config import PostHogConfig, upgrade_block


def block(**overrides):
    return {"api_key": "phx_key", "environment_id": "12345", **overrides}


def test_given_minimal_block_when_parsed_then_defaults_apply():
    config = PostHogConfig.from_block(block())
    assert config.api_url == "https://us.posthog.com"
    assert config.file_download is None
    assert config.window_days == 7
    assert config.listing_path == "/api/environments/12345/batch_exports/"


def test_given_organization_when_parsed_then_batch_exports_are_listed_per_organization():
    config = PostHogConfig.from_block(block(organization_id="org-1"))
    assert config.listing_path == "/api/organizations/org-1/batch_exports/"


def test_given_neither_organization_nor_environment_when_parsed_then_error_names_environment_id():
    with pytest.raises(ConfigError, match=r"posthog\.environment_id"):
        PostHogConfig.from_block({"api_key": "phx_key"})


def test_given_file_download_without_environment_when_parsed_then_error_names_environment_id():
    with pytest.raises(ConfigError, match=r"file downloads belong to an environment.*posthog\.environment_id"):
        PostHogConfig.from_block({"api_key": "k", "organization_id": "org", "file_download": {}})


def test_given_empty_file_download_when_parsed_then_events_jsonlines_gzip():
    download = PostHogConfig.from_block(block(file_download={})).file_download
    assert (download.models, download.format, download.compression) == (("events",), "JSONLines", "gzip")


def test_given_unsupported_compression_when_parsed_then_error_lists_supported_ones():
    with pytest.raises(ConfigError) as error:
        PostHogConfig.from_block(block(file_download={"compression": "brotli"}))
    assert "posthog.file_download.compression" in str(error.value)
    assert "gzip, zstd" in str(error.value)


def test_given_null_compression_when_parsed_then_uncompressed():
    assert PostHogConfig.from_block(block(file_download={"compression": None})).file_download.compression is None


def test_given_unknown_model_when_parsed_then_error_names_the_entry():
    with pytest.raises(ConfigError, match=r"posthog\.file_download\.models\[1\].*events, persons, sessions"):
        PostHogConfig.from_block(block(file_download={"models": ["events", "groups"]}))


@pytest.mark.parametrize("key,value", [("window_days", 8), ("window_days", 0), ("logs_page_size", 501)])
def test_given_out_of_range_knob_when_parsed_then_error_names_it_with_range(key, value):
    with pytest.raises(ConfigError, match=rf"from .* to .*posthog\.{key}"):
        PostHogConfig.from_block(block(**{key: value}))


def test_given_path_characters_in_environment_id_when_parsed_then_error():
    with pytest.raises(ConfigError, match=r"posthog\.environment_id"):
        PostHogConfig.from_block(block(environment_id="1/../2"))


def test_given_missing_api_key_when_parsed_then_error_names_it():
    with pytest.raises(ConfigError, match=r"posthog\.api_key"):
        PostHogConfig.from_block({"environment_id": "1"})


def test_given_none_compression_when_parsed_then_uncompressed_as_posthogs_null():
    assert PostHogConfig.from_block(block(file_download={"compression": "none"})).file_download.compression is None


def test_given_null_compression_of_an_older_config_when_upgraded_then_spelled_none_and_other_blocks_untouched():
    old = block(file_download={"compression": None, "format": "JSONLines"})
    upgraded = upgrade_block(old)
    assert upgraded["file_download"] == {"compression": "none", "format": "JSONLines"}
    assert old["file_download"]["compression"] is None  # the input is not changed in place
    assert upgrade_block(block(file_download={"compression": "gzip"}))["file_download"]["compression"] == "gzip"
    assert upgrade_block(block()) == block()


def test_given_no_concurrency_settings_when_parsed_then_windows_overlap_3_and_parts_8_and_first_poll_after_2_s():
    config = PostHogConfig.from_block(block())
    assert (config.export_concurrency, config.download_concurrency, config.poll_interval_seconds) == (3, 8, 2.0)


@pytest.mark.parametrize(
    "key, value",
    [
        ("export_concurrency", 0),
        ("export_concurrency", 11),
        ("download_concurrency", 17),
        ("download_concurrency", 2.5),
        ("export_concurrency", True),
    ],
)
def test_given_concurrency_out_of_range_when_parsed_then_error_names_the_field_and_the_range(key, value):
    with pytest.raises(ConfigError) as error:
        PostHogConfig.from_block(block(**{key: value}))
    assert f"posthog.{key}" in str(error.value) and "must be an integer from 1 to" in str(error.value)
