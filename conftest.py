"""Repository-wide pytest setup: the CDK standard-test hooks and the venv's bin on PATH."""

import os
import sys
from pathlib import Path

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

# End-to-end tests run the installed `source-exports` command: make the interpreter's bin visible.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")
