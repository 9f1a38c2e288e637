"""The `sourcecraft` block's download_concurrency: a default, a range, errors naming the field."""

import pytest

from source_exports.errors import ConfigError
from source_exports.vendors.sourcecraft.vendor import parse_settings

BLOCK = {"api_token": "t", "org_slug": "o", "repo_slug": "r"}


def test_given_no_download_concurrency_when_parsed_then_eight_artifacts_at_once():
    assert parse_settings(BLOCK).download_concurrency == 8


def test_given_download_concurrency_when_parsed_then_kept():
    assert parse_settings({**BLOCK, "download_concurrency": 1}).download_concurrency == 1


@pytest.mark.parametrize("value", [0, 17, 2.5, "4", True])
def test_given_download_concurrency_out_of_range_when_parsed_then_error_names_the_field(value):
    with pytest.raises(ConfigError) as error:
        parse_settings({**BLOCK, "download_concurrency": value})
    assert "sourcecraft.download_concurrency" in str(error.value) and "from 1 to 16" in str(error.value)
