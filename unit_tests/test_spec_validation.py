"""Spec violations name the field, list valid values, and never echo secrets."""

import logging

import pytest

from source_exports import SourceExports
from source_exports.errors import ConfigError
from source_exports.spec_validation import field_path, validate_config

SPEC = SourceExports().spec(logging.getLogger("test")).connectionSpecification


def cargo_block(**entry):
    output = {"name": "leads", "workflow_uuid": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "output_node_slug": "n"}
    return {"cargo": {"api_token": "secret-token-value", "run_outputs": [{**output, **entry}]}}


def test_given_path_parts_when_formatting_then_indexes_use_brackets():
    assert field_path(["cargo", "run_outputs", 0, "workflow_uuid"]) == "cargo.run_outputs[0].workflow_uuid"


def test_given_non_uuid_workflow_when_validating_then_error_names_field_and_shows_example():
    with pytest.raises(ConfigError) as error:
        validate_config(cargo_block(workflow_uuid="not-a-uuid"), SPEC)
    message = str(error.value)
    assert "cargo.run_outputs[0].workflow_uuid" in message and "'not-a-uuid'" in message


def test_given_unknown_format_when_validating_then_valid_values_are_listed():
    with pytest.raises(ConfigError) as error:
        validate_config(cargo_block(format="xlsx"), SPEC)
    assert "cargo.run_outputs[0].format" in str(error.value) and "csv" in str(error.value)


def test_given_secret_of_wrong_type_when_validating_then_value_is_not_echoed():
    config = cargo_block()
    config["cargo"]["api_token"] = ["secret-token-value"]
    with pytest.raises(ConfigError) as error:
        validate_config(config, SPEC)
    assert "secret-token-value" not in str(error.value) and "cargo.api_token" in str(error.value)


def test_given_valid_config_when_validating_then_no_error():
    validate_config(cargo_block(), SPEC)
