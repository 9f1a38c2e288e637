"""Shared config validators: every number has a range, and the message names the field."""

import math

import pytest

from source_exports.config import optional_strings, require_bool, require_number
from source_exports.errors import ConfigError


@pytest.mark.parametrize("value", [1e300, -1, math.nan, math.inf, True, "7", 2.5])
def test_given_a_value_out_of_range_or_of_the_wrong_kind_when_validating_then_the_field_is_named(value):
    with pytest.raises(ConfigError) as raised:
        require_number({"window_days": value}, "window_days", "cargo", 30, 1, 366, integer=True)
    assert "field: cargo.window_days" in raised.value.user_message
    assert "must be an integer from 1 to 366" in raised.value.user_message


def test_given_no_value_when_validating_then_the_default():
    assert require_number({"job_timeout_minutes": None}, "job_timeout_minutes", "spaaza", 30.0, 0, 1440) == 30.0


def test_given_an_exclusive_minimum_when_the_value_equals_it_then_refused():
    with pytest.raises(ConfigError, match="must be a number more than 0 to 1440"):
        require_number({"timeout": 0}, "timeout", "spaaza", 30.0, 0, 1440, exclusive_minimum=True)
    assert require_number({"timeout": 0.5}, "timeout", "spaaza", 30.0, 0, 1440, exclusive_minimum=True) == 0.5


def test_given_a_block_when_reading_a_require_number_then_the_field_is_prefix_dot_key_and_a_hint_may_be_given():
    assert require_number({"window_days": 7}, "window_days", "posthog", 7, 1, 7, integer=True) == 7
    assert require_number({}, "window_days", "posthog", 5, 1, 7, integer=True) == 5
    with pytest.raises(ConfigError) as raised:
        require_number({"download_concurrency": 17}, "download_concurrency", "sourcecraft", 4, 1, 16, True, hint="No")
    assert "field: sourcecraft.download_concurrency" in raised.value.user_message
    assert "'17' must be an integer from 1 to 16" in raised.value.user_message
    assert raised.value.hint == "No"


@pytest.mark.parametrize("value", ["true", 1, None, 0])
def test_given_something_that_only_looks_like_a_boolean_when_validating_then_refused(value):
    with pytest.raises(ConfigError, match="is not true or false") as raised:
        require_bool(value, "spaaza.create_exports")
    assert "field: spaaza.create_exports" in raised.value.user_message
    assert (require_bool(True, "x"), require_bool(False, "x")) == (True, False)


def test_given_string_lists_when_validating_then_items_are_stripped_and_a_bad_item_is_named_by_position():
    assert optional_strings({"workflows": [" build ", "test"]}, "workflows", "sourcecraft") == ("build", "test")
    assert optional_strings({}, "include", "posthog") == ()
    with pytest.raises(ConfigError, match="must be a list of strings"):
        optional_strings({"include": "uuid"}, "include", "posthog.file_download")
    with pytest.raises(ConfigError) as raised:
        optional_strings({"include": ["uuid", " "]}, "include", "posthog.file_download")
    assert "field: posthog.file_download.include[1]" in raised.value.user_message
