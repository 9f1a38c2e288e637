"""The `cargo` block: valid configs parse, invalid values are refused naming the field."""

import json
from datetime import timedelta
from importlib import resources

import pytest

from source_exports.config import UUID4
from source_exports.errors import ConfigError
from source_exports.vendors.cargo.config import DEFAULT_API_URL, parse_cargo_config
from unit_tests.vendors.cargo.builders import OTHER_UUID, WORKFLOW, ConfigBuilder


def refusal(block) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_cargo_config(block)
    return caught.value


def test_given_full_entry_when_parsing_then_every_value_is_kept_and_export_body_uses_cargo_names():
    block = (
        ConfigBuilder()
        .with_(workspace_uuid=OTHER_UUID, window_days=7, max_wait_days_for_unfinished_runs=0.5)
        .with_output(statuses=["success", "error"], release_uuid=OTHER_UUID, batch_uuid=WORKFLOW)
        .with_output(primary_key=["runUuid"])
        .build()
    )

    config = parse_cargo_config(block)

    (output,) = config.run_outputs
    assert (config.workspace_uuid, config.window, config.max_wait_for_unfinished) == (
        OTHER_UUID,
        timedelta(days=7),
        timedelta(hours=12),
    )
    assert output.primary_key == ("runUuid",)
    assert output.export_body() == {
        "workflowUuid": WORKFLOW,
        "releaseUuid": OTHER_UUID,
        "batchUuid": WORKFLOW,
        "outputNodeSlug": "enrich",
        "format": "csv",
        "statuses": ["success", "error"],
    }


def test_given_minimal_block_when_parsing_then_defaults_apply():
    config = parse_cargo_config({"api_token": "t"})

    assert (config.api_url, config.run_outputs, config.window, config.sample_runs) == (
        DEFAULT_API_URL,
        (),
        timedelta(days=30),
        20,
    )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"workflow_uuid": "not-a-uuid"}, "cargo.run_outputs[0].workflow_uuid"),
        ({"workflow_uuid": "3c90c3cc-0d44-1b50-8888-8dd25736052a"}, "cargo.run_outputs[0].workflow_uuid"),  # v1
        ({"release_uuid": "3c90c3cc0d444b5088888dd25736052a"}, "cargo.run_outputs[0].release_uuid"),
        ({"batch_uuid": "zz90c3cc-0d44-4b50-8888-8dd25736052a"}, "cargo.run_outputs[0].batch_uuid"),
        ({"name": ""}, "cargo.run_outputs[0].name"),
        ({"name": "1leads"}, "cargo.run_outputs[0].name"),
        ({"name": "my-leads"}, "cargo.run_outputs[0].name"),
        ({"name": "cargo_runs"}, "cargo.run_outputs[0].name"),
        ({"format": "parquet"}, "cargo.run_outputs[0].format"),
        ({"statuses": ["success", "done"]}, "cargo.run_outputs[0].statuses[1]"),
        ({"statuses": "success"}, "cargo.run_outputs[0].statuses"),
        ({"output_node_slug": " "}, "cargo.run_outputs[0].output_node_slug"),
        ({"primary_key": "runUuid"}, "cargo.run_outputs[0].primary_key"),
    ],
)
def test_given_invalid_entry_value_when_parsing_then_refused_naming_the_field(change, field):
    error = refusal(ConfigBuilder().with_output(**change).build())

    assert error.context["field"] == field
    assert field in error.user_message


@pytest.mark.parametrize(
    "change, field",
    [
        ({"api_token": ""}, "cargo.api_token"),
        ({"workspace_uuid": "workspace-1"}, "cargo.workspace_uuid"),
        ({"api_url": "ftp://cargo"}, "cargo.api_url"),
        ({"window_days": 0}, "cargo.window_days"),
        ({"window_days": 1.5}, "cargo.window_days"),
        ({"max_wait_days_for_unfinished_runs": -1}, "cargo.max_wait_days_for_unfinished_runs"),
        ({"run_outputs": {"name": "x"}}, "cargo.run_outputs"),
    ],
)
def test_given_invalid_block_value_when_parsing_then_refused_naming_the_field(change, field):
    error = refusal(ConfigBuilder().with_(**change).build())

    assert error.context["field"] == field


def test_given_unknown_format_when_parsing_then_message_lists_valid_formats():
    error = refusal(ConfigBuilder().with_output(format="xml").build())

    assert "Valid values: csv, json" in error.user_message


def test_given_two_entries_with_one_name_when_parsing_then_second_is_refused():
    block = ConfigBuilder().with_output(1, name="leads").build()

    error = refusal(block)

    assert error.context["field"] == "cargo.run_outputs[1].name"
    assert "run_outputs[0]" in error.user_message


def test_given_spec_when_reading_then_uuid_patterns_match_the_validation_pattern():
    spec = json.loads(resources.files("source_exports.vendors.cargo").joinpath("spec.json").read_text())
    items = spec["properties"]["run_outputs"]["items"]["properties"]

    patterns = {items[key]["pattern"] for key in ("workflow_uuid", "release_uuid", "batch_uuid")}
    patterns.add(spec["properties"]["workspace_uuid"]["pattern"])

    assert patterns == {f"^({UUID4.pattern[1:-1]})$"}
    assert spec["properties"]["api_token"]["airbyte_secret"] is True
    assert spec["properties"]["api_url"]["default"] == DEFAULT_API_URL
