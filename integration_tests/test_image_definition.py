"""The image Airbyte's tooling would build is the one this repository builds and tests.

`airbyte-cdk image build` ignores the repository's Dockerfile: it renders Airbyte's Python
connector template with the base image from `metadata.yaml`. These tests let the installed CDK do
exactly that (its docker calls recorded, not run) and compare the result with the repository's
`Dockerfile`; they also validate `metadata.yaml` against Airbyte's published metadata schema.
No container engine is needed; `test_image.py` checks the built image itself.
"""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from integration_tests.dockerfile_template import (
    CONNECTOR,
    ENTRYPOINT_SCRIPT,
    ROOT,
    CdkBuild,
    builder_runs,
    final_stage,
    render_cdk_build,
    repository_stage,
    writes_script,
)

SCHEMA = ROOT / "integration_tests" / "metadata_schema" / "ConnectorMetadataDefinitionV0.json"
PINNED = re.compile(r"^(?P<image>[^:@\s]+):(?P<tag>[^:@\s]+)@sha256:(?P<digest>[0-9a-f]{64})$")


@pytest.fixture(scope="module")
def cdk_build(tmp_path_factory: pytest.TempPathFactory) -> CdkBuild:
    return render_cdk_build(tmp_path_factory.mktemp("checkout"))


@pytest.fixture(scope="module")
def metadata() -> dict:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text())


def _schema() -> dict:
    """The vendored schema, with the `$id`s of the inlined sub-schemas removed.

    The bundler inlined each referenced YAML file with its own `$id` but wrote the `$ref`s
    between them as pointers from the root document; under draft-07 a nested `$id` would make
    those pointers resolve inside the sub-schema instead.
    """

    def strip(node: object, root: bool) -> object:
        if isinstance(node, dict):
            return {k: strip(v, False) for k, v in node.items() if root or k not in ("$id", "$schema")}
        if isinstance(node, list):
            return [strip(v, False) for v in node]
        return node

    return strip(json.loads(SCHEMA.read_text()), True)  # type: ignore[return-value]


def test_given_metadata_when_validated_against_airbyte_schema_then_valid(metadata: dict) -> None:
    validator = jsonschema.Draft7Validator(_schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)

    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(metadata)]

    assert errors == []


def test_given_metadata_schema_when_metadata_breaks_it_then_rejected(metadata: dict) -> None:
    """The vendored schema really constrains (a guard against validating against an empty schema)."""
    broken = json.loads(json.dumps(metadata))
    broken["data"]["connectorType"] = "sink"
    broken["data"]["unknownField"] = True
    del broken["data"]["dockerRepository"]

    messages = sorted(e.message for e in jsonschema.Draft7Validator(_schema()).iter_errors(broken))

    assert len(messages) == 3, messages


def test_given_metadata_when_checked_like_airbyte_validator_then_base_image_pinned_and_tags_keyed(
    metadata: dict,
) -> None:
    data = metadata["data"]
    base = data["connectorBuildOptions"]["baseImage"]
    pinned = PINNED.match(base)

    assert pinned, f"baseImage {base!r} is not <image>:<tag>@sha256:<digest>"
    assert pinned.group("image") == "docker.io/airbyte/python-connector-base"
    assert all(":" in tag for tag in data["tags"]), data["tags"]
    assert "language:python" in data["tags"]
    assert data["dockerImageTag"] == _repository_stage_label("io.airbyte.version")
    assert data["dockerRepository"] == _repository_stage_label("io.airbyte.name")


def _repository_stage_label(name: str) -> str:
    match = re.search(rf'{re.escape(name)}="([^"]+)"', (ROOT / "Dockerfile").read_text())
    assert match, f"label {name} missing from the Dockerfile"
    return match.group(1)


def test_given_cdk_template_when_rendered_for_connector_then_repository_build_is_equivalent(
    cdk_build: CdkBuild, metadata: dict
) -> None:
    template = final_stage(cdk_build.dockerfile, cdk_build.build_args)
    ours = repository_stage()

    # Base: the image metadata.yaml pins, digest included, in both builds.
    assert cdk_build.build_args["BASE_IMAGE"] == metadata["data"]["connectorBuildOptions"]["baseImage"]
    assert ours.base == template.base == cdk_build.build_args["BASE_IMAGE"]
    assert cdk_build.build_args["CONNECTOR_NAME"] == CONNECTOR
    # Layout: the package and its dependencies in the base image's /usr/local, from a builder stage.
    assert ours.workdir == template.workdir == "/airbyte/integration_code"
    assert ours.copies_from_builder == template.copies_from_builder == [("/usr/local", "/usr/local")]
    # User and entrypoint: the base image's airbyte user; /entrypoint.sh runs the console script.
    assert ours.user == template.user == "airbyte"
    assert ours.entrypoint == template.entrypoint == ["/entrypoint.sh"]
    assert ours.env == template.env == {"AIRBYTE_ENTRYPOINT": "/entrypoint.sh"}
    assert template.heredocs["/entrypoint.sh"] == ENTRYPOINT_SCRIPT
    assert writes_script(ours) == ENTRYPOINT_SCRIPT, ours.runs
    # Labels the CDK sets on the build are the ones the Dockerfile sets.
    assert cdk_build.labels == {
        "io.airbyte.version": _repository_stage_label("io.airbyte.version"),
        "io.airbyte.name": _repository_stage_label("io.airbyte.name"),
    }


def test_given_cdk_template_when_rendered_then_installs_this_package_from_connector_root(cdk_build: CdkBuild) -> None:
    """Installed package: the template runs `uv pip install .` in a context holding setup.py; ours
    runs `pip install .` on the same files, so both install the `source-exports` distribution."""
    builder = builder_runs(cdk_build.dockerfile)
    ours = builder_runs((ROOT / "Dockerfile").read_text())

    assert any(re.search(r"pip install .*--no-cache-dir \.$", run) for run in builder)
    assert any(re.search(r"pip install \$\{PIP_INSTALL_ARGS\} --use-pep517 \.$", run) for run in ours)
    assert cdk_build.context.name == CONNECTOR
    assert (ROOT / "setup.py").read_text().count('name="source-exports"') == 1
