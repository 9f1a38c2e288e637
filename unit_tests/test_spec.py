"""The whole spec, field by field, as Airbyte's form renders it: every field explained, every example valid.

The walk is generic: a field added to any vendor's spec.json is checked by the same rules without
editing this file (title, description, examples that pass the field's own schema, a
`pattern_descriptor` for every `pattern`, no null offered in a form, unique `order`, secrets marked).
"""

import copy
import logging
import re
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Tuple

import pytest
import yaml
from jsonschema import Draft7Validator

from source_exports import SourceExports
from source_exports.source import DOCS_URL
from source_exports.spec_validation import validate_config
from source_exports.vendors import VENDORS

ROOT = Path(__file__).resolve().parents[1]
SPEC = SourceExports().spec(logging.getLogger("test"))
SCHEMA = SPEC.connectionSpecification
SECRET_NAME = re.compile(r"(token|secret|password|api_key)", re.IGNORECASE)


def walk(schema: Mapping[str, Any], path: str = "") -> Iterator[Tuple[str, Mapping[str, Any]]]:
    """Every field of `schema`: properties, the properties of array items and of oneOf options, depth first."""
    for name, node in schema.get("properties", {}).items():
        field = f"{path}.{name}" if path else name
        yield field, node
        yield from walk(node, field)
        items = node.get("items")
        if isinstance(items, Mapping):
            yield from walk(items, f"{field}[]")
        for index, option in enumerate(node.get("oneOf", [])):
            yield from walk(option, f"{field}<{index}>")


FIELDS: Dict[str, Mapping[str, Any]] = dict(walk(SCHEMA))


def is_object(node: Mapping[str, Any]) -> bool:
    return node.get("type") == "object" or "properties" in node


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_given_a_spec_field_when_walked_then_it_has_a_title_and_a_description(field):
    node = FIELDS[field]
    assert isinstance(node.get("title"), str) and node["title"].strip(), f"{field}: add a title"
    assert isinstance(node.get("description"), str) and node["description"].strip(), f"{field}: add a description"


@pytest.mark.parametrize("field", sorted(name for name, node in FIELDS.items() if not is_object(node)))
def test_given_a_spec_field_when_walked_then_its_examples_and_default_pass_its_own_schema(field):
    node = FIELDS[field]
    examples = node.get("examples")
    assert isinstance(examples, list) and examples, f"{field}: add `examples` (a list of valid values)"
    validator = Draft7Validator(node)
    for value in examples + ([node["default"]] if "default" in node else []):
        errors = [error.message for error in validator.iter_errors(value)]
        assert not errors, f"{field}: {value!r} is not a valid value of the field: {errors}"


@pytest.mark.parametrize("field", sorted(name for name, node in FIELDS.items() if "pattern" in node))
def test_given_a_field_with_a_pattern_when_walked_then_the_form_shows_a_pattern_descriptor(field):
    descriptor = FIELDS[field].get("pattern_descriptor")
    assert isinstance(descriptor, str) and descriptor.strip(), f"{field}: add a pattern_descriptor"


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_given_a_spec_field_when_walked_then_the_form_offers_no_null(field):
    node = FIELDS[field]
    assert None not in node.get("enum", []), f"{field}: a form cannot offer null; spell it as a string"
    types = node.get("type")
    assert not (isinstance(types, list) and "null" in types), f"{field}: type {types} puts a null into the form"


@pytest.mark.parametrize("field", sorted(name for name in FIELDS if SECRET_NAME.search(name.rsplit(".", 1)[-1])))
def test_given_a_credential_field_when_walked_then_it_is_an_airbyte_secret(field):
    assert FIELDS[field].get("airbyte_secret") is True, f"{field}: mark it airbyte_secret"


def test_given_every_object_when_walked_then_order_values_are_unique_among_siblings():
    objects = [("(top level)", SCHEMA)] + [(name, node) for name, node in FIELDS.items() if "properties" in node]
    objects += [(f"{name}[]", node["items"]) for name, node in FIELDS.items() if "properties" in node.get("items", {})]
    for name, node in objects:
        orders = [child["order"] for child in node["properties"].values() if "order" in child]
        assert len(orders) == len(set(orders)), f"{name}: two fields share one `order` ({sorted(orders)})"


def test_given_the_top_level_when_rendered_then_one_open_card_per_vendor_and_no_block_required():
    groups = [group["id"] for group in SCHEMA["groups"]]
    assert len(groups) == len(set(groups))
    assert all(isinstance(group.get("title"), str) for group in SCHEMA["groups"])
    assert [vendor.key for vendor in VENDORS] == groups[1:]
    for name, node in SCHEMA["properties"].items():
        assert node.get("group") in groups, f"{name}: put it in one of the groups {groups}"
        assert node.get("always_show") is True, f"{name}: would be folded under 'Optional fields'"
    assert SCHEMA["required"] == []  # every block optional; check asks for at least one
    nested = [name for name, node in FIELDS.items() if "." in name and "group" in node]
    assert nested == [], "Airbyte allows `group` only on top-level fields"


def example_of(node: Mapping[str, Any]) -> Any:
    """The first example of a field; an object made of its fields' first examples."""
    if is_object(node):
        return {name: example_of(child) for name, child in node["properties"].items()}
    return copy.deepcopy(node["examples"][0])


def test_given_a_config_made_of_the_first_examples_when_validated_then_the_spec_and_every_vendor_accept_it():
    config = example_of(SCHEMA)
    validate_config(config, SCHEMA)
    names = [stream.name for stream in SourceExports().streams(config)]
    assert len(names) == len(set(names)) and {"cargo_runs", "posthog_events", "spaaza_tasks"} <= set(names)


def test_given_an_older_config_with_null_compression_when_configured_then_it_validates_against_the_spec(tmp_path):
    posthog = {"api_key": "phx_key", "environment_id": "12345", "file_download": {"compression": None}}
    configured = SourceExports().configure({"posthog": posthog}, str(tmp_path))
    validate_config(configured, SCHEMA)
    assert configured["posthog"]["file_download"]["compression"] == "none"


def docs_page() -> str:
    name = DOCS_URL.rstrip("/").rsplit("/", 1)[-1]
    return (ROOT / "docs" / "integrations" / "sources" / f"{name}.md").read_text()


def test_given_the_documentation_url_when_followed_into_the_repository_then_the_page_exists_and_metadata_agrees():
    assert SPEC.documentationUrl == DOCS_URL
    assert DOCS_URL.startswith("https://docs.airbyte.com/integrations/sources/")
    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]
    assert metadata["documentationUrl"] == DOCS_URL
    assert docs_page().startswith(f"# {metadata['name']}\n")


def test_given_the_docs_page_when_read_then_headers_follow_airbytes_template_order():
    headers = [line for line in docs_page().splitlines() if re.match(r"^## ", line)]
    expected = [
        "## Prerequisites",
        "## Setup guide",
        "## Supported sync modes",
        "## Supported Streams",
        "## Limitations & Troubleshooting",
        "## Changelog",
    ]
    positions = [headers.index(header) for header in expected]
    assert positions == sorted(positions), headers


def test_given_the_docs_page_when_read_then_prerequisites_name_every_required_field_and_streams_every_stream():
    page = docs_page()
    prerequisites = page.split("## Prerequisites", 1)[1].split("\n## ", 1)[0]
    for vendor in VENDORS:
        block = SCHEMA["properties"][vendor.key]
        for required in block.get("required", []):
            title = block["properties"][required]["title"]
            assert title in prerequisites, f"Prerequisites: name {vendor.title}'s {title} ({vendor.key}.{required})"
    streams = page.split("## Supported Streams", 1)[1].split("\n## ", 1)[0]
    for stream in SourceExports().streams(example_of(SCHEMA)):
        if stream.name != example_of(SCHEMA)["cargo"]["run_outputs"][0]["name"]:
            assert f"`{stream.name}`" in streams, f"Supported Streams: add `{stream.name}`"


def test_given_the_docs_page_when_following_its_relative_links_then_every_linked_file_exists():
    folder = ROOT / "docs" / "integrations" / "sources"
    for target in re.findall(r"\]\((?!https?://)([^)#]+)(?:#[^)]*)?\)", docs_page()):
        assert (folder / target).resolve().is_file(), f"broken link: {target}"
