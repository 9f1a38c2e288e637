"""`make connector-test`: the CDK's own test runner, `airbyte-cdk connector test`, on this connector.

The runner expects a connector directory named `source-*` holding `metadata.yaml`,
`acceptance-test-config.yml` and the files that config names (the `secrets/` configs, the
configured catalogs under `integration_tests/`). This repository's root can have any name, and
its secrets are only written at test time, so this script starts the fake vendor servers, lays
out such a directory in a temporary folder (links to the repository's files plus freshly written
secrets), runs the runner there and exits with its exit code.

    python -m integration_tests.connector_test [--pytest-arg ARG ...]

The runner's Docker image tests need a Docker engine; without one they are deselected (the image
is built and tested with podman by integration_tests/test_image.py instead).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List

from integration_tests.fake_servers import FakeVendors
from integration_tests.standard_configs import write_standard_configs

ROOT = Path(__file__).resolve().parents[1]
CONNECTOR = "source-exports"
# What the runner reads from the connector directory (acceptance-test-config.yml names files
# under integration_tests/).
LINKED = ("metadata.yaml", "acceptance-test-config.yml", "integration_tests")


def docker_engine_available() -> bool:
    """A Docker client alone is not enough: `docker info` must reach an engine."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def lay_out(parent: Path) -> Path:
    """A `source-exports` directory under `parent` linking to this repository's files."""
    connector_dir = parent / CONNECTOR
    connector_dir.mkdir()
    for name in LINKED:
        (connector_dir / name).symlink_to(ROOT / name)
    return connector_dir


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pytest-arg", action="append", default=[], help="passed on to the runner's pytest")
    args = parser.parse_args(argv)
    runner = shutil.which("airbyte-cdk") or str(Path(sys.executable).parent / "airbyte-cdk")
    pytest_args = list(args.pytest_arg)
    if not docker_engine_available():
        print("[connector-test] no Docker engine: deselecting the runner's image tests (-m 'not image_tests')")
        pytest_args += ["-m", "not image_tests"]
    with tempfile.TemporaryDirectory(prefix="source-exports-connector-test-") as scratch, FakeVendors() as fakes:
        connector_dir = lay_out(Path(scratch))
        write_standard_configs(fakes, connector_dir)
        command = [runner, "connector", "test", str(connector_dir)]
        command += [f"--pytest-arg={arg}" for arg in pytest_args]
        # File-transfer copies go to a folder removed with the rest, not the CDK's shared default.
        staging = Path(scratch) / "staging"
        staging.mkdir()
        env = {**os.environ, "AIRBYTE_STAGING_DIRECTORY": str(staging)}
        print(f"[connector-test] {' '.join(command)}", flush=True)
        return subprocess.run(command, cwd=connector_dir, env=env, stdin=subprocess.DEVNULL, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
