"""Shared config validators: every number has a range, and the message names the field."""

import math

import pytest

from source_exports.config import require_number
from source_exports.errors import ConfigError


@pytest.mark.parametrize("value", [1e300, -1, math.nan, math.inf, True, "7", 2.5])
def test_given_a_value_out_of_range_or_of_the_wrong_kind_when_validating_then_the_field_is_named(value):
    with pytest.raises(ConfigError) as raised:
        require_number(value, "cargo.window_days", 30, 1, 366, integer=True)
    assert "field: cargo.window_days" in raised.value.user_message
    assert "must be an integer from 1 to 366" in raised.value.user_message


def test_given_no_value_when_validating_then_the_default():
    assert require_number(None, "spaaza.job_timeout_minutes", 30.0, 0, 1440) == 30.0


def test_given_an_exclusive_minimum_when_the_value_equals_it_then_refused():
    with pytest.raises(ConfigError, match="must be a number more than 0 to 1440"):
        require_number(0, "spaaza.job_timeout_minutes", 30.0, 0, 1440, exclusive_minimum=True)
    assert require_number(0.5, "spaaza.job_timeout_minutes", 30.0, 0, 1440, exclusive_minimum=True) == 0.5
