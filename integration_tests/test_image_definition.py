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
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import jsonschema
import pytest
import yaml
from airbyte_cdk.models.connector_metadata import MetadataFile
from airbyte_cdk.utils import docker as cdk_docker

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "integration_tests" / "container" / "airbyte-template" / "Dockerfile.python-connector"
SCHEMA = ROOT / "integration_tests" / "metadata_schema" / "ConnectorMetadataDefinitionV0.json"
CONNECTOR = "source-exports"
PINNED = re.compile(r"^(?P<image>[^:@\s]+):(?P<tag>[^:@\s]+)@sha256:(?P<digest>[0-9a-f]{64})$")


@dataclass
class Stage:
    """The final-image facts of one Dockerfile stage, with build arguments substituted."""

    base: str
    workdir: Optional[str] = None
    user: Optional[str] = None
    entrypoint: Optional[List[str]] = None
    env: Dict[str, str] = field(default_factory=dict)
    copies_from_builder: List[Tuple[str, str]] = field(default_factory=list)
    runs: List[str] = field(default_factory=list)
    heredocs: Dict[str, str] = field(default_factory=dict)


def _instructions(text: str) -> List[Tuple[str, str, Optional[str]]]:
    """(INSTRUCTION, arguments, heredoc body) in order; continuation lines joined, comments dropped."""
    lines = text.splitlines()
    result: List[Tuple[str, str, Optional[str]]] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        while line.endswith("\\") and i < len(lines):
            nxt = lines[i].strip()
            i += 1
            if nxt.startswith("#"):
                continue
            line = line[:-1].rstrip() + " " + nxt
        keyword, _, args = line.partition(" ")
        body = None
        heredoc = re.search(r"<<-?(\w+)", args)
        if heredoc:
            end = lines.index(heredoc.group(1), i)
            body = "\n".join(lines[i:end]) + "\n"
            i = end + 1
        result.append((keyword.upper(), args.strip(), body))
    return result


def _substitute(text: str, args: Dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)


def final_stage(text: str, build_args: Dict[str, str]) -> Stage:
    """The last stage of a Dockerfile, as BuildKit would evaluate it with these build arguments."""
    global_args: Dict[str, str] = {}
    stage: Optional[Stage] = None
    stage_args: Dict[str, str] = {}
    for keyword, args, body in _instructions(text):
        if keyword == "ARG":
            name, _, default = args.partition("=")
            value = build_args.get(name, default.strip('"'))
            (global_args if stage is None else stage_args)[name] = value
        elif keyword == "FROM":
            stage = Stage(base=_substitute(args.split(" AS ")[0].split(" as ")[0], global_args))
            stage_args = {}
        elif stage is None:
            continue
        elif keyword == "WORKDIR":
            stage.workdir = _substitute(args, stage_args)
        elif keyword == "USER":
            stage.user = args
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = json.loads(args)
        elif keyword == "ENV":
            for name, value in re.findall(r'(\w+)="([^"]*)"', args):
                stage.env[name] = value
        elif keyword == "RUN":
            stage.runs.append(_substitute(args, stage_args))
        elif keyword == "COPY":
            parts = args.split()
            if "--from=builder" in parts:
                source, target = parts[-2:]
                stage.copies_from_builder.append((source, target))
            if body is not None:
                # BuildKit expands the heredoc's ${ARG}s; `\$` and `\@` stay literal `$` and `@`.
                stage.heredocs[parts[-1]] = _substitute(body, stage_args).replace("\\$", "$").replace("\\@", "@")
    assert stage is not None, "no FROM in the Dockerfile"
    return stage


@dataclass
class CdkBuild:
    """What `airbyte-cdk image build` would run for this connector."""

    dockerfile: str
    build_args: Dict[str, str]
    context: Path
    labels: Dict[str, str]


@pytest.fixture(scope="module")
def cdk_build(tmp_path_factory: pytest.TempPathFactory) -> CdkBuild:
    """Let the installed CDK render its template for this connector; record, not run, its docker calls.

    The CDK reads the template from an airbyte checkout (`<airbyte>/docker-images/`) when the
    connector lives in one, so the vendored copy is laid out as such a checkout.
    """
    airbyte = tmp_path_factory.mktemp("checkout") / "airbyte"
    connector_dir = airbyte / "airbyte-integrations" / "connectors" / CONNECTOR
    connector_dir.mkdir(parents=True)
    (airbyte / "docker-images").mkdir()
    shutil.copy(TEMPLATE, airbyte / "docker-images" / "Dockerfile.python-connector")
    (airbyte / "docker-images" / "Dockerfile.python-connector.dockerignore").write_text("")
    shutil.copy(ROOT / "metadata.yaml", connector_dir / "metadata.yaml")

    commands: List[List[str]] = []
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(cdk_docker, "run_docker_command", lambda cmd, **_: commands.append(cmd))
    try:
        cdk_docker.build_connector_image(
            connector_name=CONNECTOR,
            connector_directory=connector_dir,
            metadata=MetadataFile.from_file(connector_dir / "metadata.yaml"),
            tag="dev",
            no_verify=True,
        )
    finally:
        monkeypatch.undo()
    build = next(cmd for cmd in commands if cmd[:3] == ["docker", "buildx", "build"])
    pairs = [build[i + 1] for i, arg in enumerate(build) if arg == "--build-arg"]
    labels = [build[i + 1] for i, arg in enumerate(build) if arg == "--label"]
    dockerfile = Path(build[build.index("--file") + 1])
    return CdkBuild(
        dockerfile=dockerfile.read_text(),
        build_args=dict(pair.split("=", 1) for pair in pairs),
        context=Path(build[-1]),
        labels=dict(label.split("=", 1) for label in labels),
    )


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


def _repository_stage() -> Stage:
    # The default build: nothing overridden, as `docker build .` runs it.
    return final_stage((ROOT / "Dockerfile").read_text(), {})


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
    ours = _repository_stage()
    script = "#!/usr/bin/env bash\nset -e\n\nsource-exports \"$@\"\n"

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
    assert template.heredocs["/entrypoint.sh"] == script
    assert _writes_script(ours, script), ours.runs
    # Labels the CDK sets on the build are the ones the Dockerfile sets.
    assert cdk_build.labels == {
        "io.airbyte.version": _repository_stage_label("io.airbyte.version"),
        "io.airbyte.name": _repository_stage_label("io.airbyte.name"),
    }


def _writes_script(stage: Stage, script: str) -> bool:
    """Whether one of the stage's RUNs writes exactly `script` to /entrypoint.sh with printf."""
    for run in stage.runs:
        match = re.search(r"printf '((?:[^'])*)' \"([^\"]*)\" >/entrypoint\.sh", run)
        if match:
            rendered = match.group(1).encode().decode("unicode_escape").replace("%s", match.group(2))
            return rendered == script
    return False


def test_given_cdk_template_when_rendered_then_installs_this_package_from_connector_root(cdk_build: CdkBuild) -> None:
    """Installed package: the template runs `uv pip install .` in a context holding setup.py; ours
    runs `pip install .` on the same files, so both install the `source-exports` distribution."""
    builder = _builder_stage(cdk_build.dockerfile, cdk_build.build_args)
    ours = _builder_stage((ROOT / "Dockerfile").read_text(), {})

    assert any(re.search(r"pip install .*--no-cache-dir \.$", run) for run in builder)
    assert any(re.search(r"pip install \$\{PIP_INSTALL_ARGS\} --use-pep517 \.$", run) for run in ours)
    assert cdk_build.context.name == CONNECTOR
    assert (ROOT / "setup.py").read_text().count('name="source-exports"') == 1


def _builder_stage(text: str, build_args: Dict[str, str]) -> List[str]:
    """The RUN lines of the stage named `builder`."""
    runs: List[str] = []
    in_builder = False
    for keyword, args, _ in _instructions(text):
        if keyword == "FROM":
            in_builder = args.endswith(" AS builder")
        elif keyword == "RUN" and in_builder:
            runs.append(args)
    return runs
