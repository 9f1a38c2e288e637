"""Repository-wide pytest setup: the CDK standard-test hooks, the venv's bin on PATH, and a
staging folder of the session's own for file transfer."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

# End-to-end tests run the installed `source-exports` command: make the interpreter's bin visible.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

# File-transfer reads stage copies under AIRBYTE_STAGING_DIRECTORY, else under the CDK's shared
# default (/tmp/airbyte-file-transfer), where they would pile up run after run. The CDK reads the
# variable when it is first imported, so it is set here, before the plugins below import it; the
# connector subprocesses inherit it. Removed when the session ends.
_STAGING = None
if "AIRBYTE_STAGING_DIRECTORY" not in os.environ:
    _STAGING = tempfile.mkdtemp(prefix="source-exports-test-staging-")
    os.environ["AIRBYTE_STAGING_DIRECTORY"] = _STAGING


def pytest_unconfigure(config):
    if _STAGING is not None:
        shutil.rmtree(_STAGING, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """Skip the CDK's `image_tests` without a Docker engine; integration_tests/test_image.py
    builds and exercises the image with podman instead."""
    import pytest

    from integration_tests.connector_test import docker_engine_available

    cdk_image_tests = [item for item in items if item.get_closest_marker("image_tests")]
    if cdk_image_tests and not docker_engine_available():
        skip = pytest.mark.skip(
            reason="no Docker engine: the image is built and tested with podman by integration_tests/test_image.py"
        )
        for item in cdk_image_tests:
            item.add_marker(skip)
