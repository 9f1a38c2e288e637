"""Airbyte's Python connector Dockerfile template, rendered by the installed CDK, and a small
reader of Dockerfiles: what a build's final stage sets (base, workdir, user, entrypoint, env).

Shared by test_image_definition.py (no container engine) and test_image.py (the built image).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from airbyte_cdk.models.connector_metadata import MetadataFile
from airbyte_cdk.utils import docker as cdk_docker

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "integration_tests" / "container" / "airbyte-template" / "Dockerfile.python-connector"
CONNECTOR = "source-exports"
# /entrypoint.sh as the template writes it for this connector.
ENTRYPOINT_SCRIPT = '#!/usr/bin/env bash\nset -e\n\nsource-exports "$@"\n'


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


def render_cdk_build(scratch: Path) -> CdkBuild:
    """Let the installed CDK render its template for this connector; record, not run, its docker calls.

    The CDK reads the template from an airbyte checkout (`<airbyte>/docker-images/`) when the
    connector lives in one, so the vendored copy is laid out as such a checkout.
    """
    airbyte = scratch / "airbyte"
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


def repository_stage() -> Stage:
    """The final stage of the repository's Dockerfile with nothing overridden, as `docker build .` runs it."""
    return final_stage((ROOT / "Dockerfile").read_text(), {})


def writes_script(stage: Stage) -> Optional[str]:
    """The /entrypoint.sh one of the stage's RUNs writes with printf, if any."""
    for run in stage.runs:
        match = re.search(r"printf '([^']*)' \"([^\"]*)\" >/entrypoint\.sh", run)
        if match:
            return match.group(1).encode().decode("unicode_escape").replace("%s", match.group(2))
    return None


def builder_runs(text: str) -> List[str]:
    """The RUN lines of the stage named `builder`."""
    runs: List[str] = []
    in_builder = False
    for keyword, args, _ in _instructions(text):
        if keyword == "FROM":
            in_builder = args.endswith(" AS builder")
        elif keyword == "RUN" and in_builder:
            runs.append(args)
    return runs
