"""The one seam to airbyte-cdk and serpyco-rs internals: pinned, checked, and applied only by the command."""

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from source_exports import cdk_seam
from source_exports.cdk_seam import SourceSeam

PACKAGE = Path(cdk_seam.__file__).parent
REPO = PACKAGE.parent

PRIVATE_CDK_NAMES = re.compile(
    r"\._read_stream\b|\._serialize_exception\b|\._emit_queued_messages\b|\._slice_logger\b|transformer\._config\b"
    r"|serpyco_rs|attributes_doc|airbyte_cdk(\.\w+)*\._\w|from airbyte_cdk[\w.]* import _\w"
)


@pytest.mark.parametrize("name", sorted(cdk_seam.MIRRORED))
def test_given_the_installed_cdk_when_its_mirrored_code_is_read_then_its_digest_is_the_recorded_one(name):
    assert cdk_seam.digest(name) == cdk_seam.MIRRORED[name], (
        f"{name} changed in airbyte-cdk {importlib.metadata.version('airbyte-cdk')}: follow "
        "'Upgrading the CDK' in README.md before recording its new digest in cdk_seam.MIRRORED"
    )


def test_given_the_installed_cdk_then_it_is_the_version_pinned_in_setup_and_the_seam():
    pins = re.findall(r'"airbyte-cdk==([\d.]+)"', (REPO / "setup.py").read_text())
    assert pins == [cdk_seam.CDK_VERSION] == [importlib.metadata.version("airbyte-cdk")]


def test_given_the_package_sources_then_private_cdk_and_serpyco_names_appear_only_in_the_seam():
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "cdk_seam.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if PRIVATE_CDK_NAMES.search(line)
    ]
    assert offenders == []


PROBE = """
import importlib, json, os, sys
{before}
import airbyte_cdk.models, attributes_doc
from airbyte_cdk.entrypoint import AirbyteEntrypoint
from airbyte_cdk.sources import AbstractSource
import source_exports, source_exports.run, source_exports.source
from source_exports import cdk_seam
readers = [importlib.import_module(name).get_attributes_doc for name in cdk_seam.SERPYCO_PATCHED]
print(json.dumps({{
    "fast": [getattr(reader, "__wrapped__", None) is cdk_seam.fast_attributes_doc for reader in readers],
    "stock": [getattr(reader, "__wrapped__", None) is attributes_doc.get_attributes_doc for reader in readers],
    "pool": os.environ.get("ARROW_DEFAULT_MEMORY_POOL"),
    "s3": "pyarrow._s3fs" in sys.modules and sys.modules["pyarrow._s3fs"] is None,
    "cdk": [AbstractSource._read_stream.__module__, AirbyteEntrypoint.run.__module__],
}}))
"""


def probe(before: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "ARROW_DEFAULT_MEMORY_POOL"}
    script = PROBE.format(before=before)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return json.loads(done.stdout)


def test_given_a_fresh_process_when_the_package_is_imported_then_nothing_is_patched():
    found = probe(before="")
    assert found["fast"] == [False, False, False] and found["stock"] == [True, True, True]
    assert found["pool"] is None and found["s3"] is False
    assert found["cdk"] == ["airbyte_cdk.sources.abstract_source", "airbyte_cdk.entrypoint"]


def test_given_a_fresh_process_when_the_command_starts_up_then_serpyco_and_the_pool_are_set_before_the_cdk():
    found = probe(before="from source_exports import startup; startup.install()")
    assert found["fast"] == [True, True, True]
    assert found["pool"] == "jemalloc" and found["s3"] is True
    assert found["cdk"] == ["airbyte_cdk.sources.abstract_source", "airbyte_cdk.entrypoint"]


DEFERRED = """
import json, sys
from source_exports import startup
startup.install()
import source_exports.run, source_exports.source
before = any(name.startswith("airbyte_cdk.sources.declarative") for name in sys.modules)
from airbyte_cdk import AbstractSource, __version__
from airbyte_cdk.sources.abstract_source import AbstractSource as Defined
after = any(name.startswith("airbyte_cdk.sources.declarative") for name in sys.modules)
print(json.dumps({"before": before, "after": after, "same": AbstractSource is Defined, "version": __version__}))
"""


def test_given_the_command_start_up_then_the_cdk_framework_is_loaded_only_when_a_name_of_the_package_is_used():
    done = subprocess.run([sys.executable, "-c", DEFERRED], capture_output=True, text=True, cwd=REPO, check=True)
    found = json.loads(done.stdout)
    assert found == {"before": False, "after": True, "same": True, "version": importlib.metadata.version("airbyte-cdk")}


WARNINGS = """
import json, warnings
{before}
import source_exports.run, source_exports.source
filters = sorted({{(action, kind.__name__) for action, _, kind, module, _ in warnings.filters if module is None}})
print(json.dumps({{"filters": filters, "format": warnings.formatwarning("text", UserWarning, "file.py", 1)}}))
"""


def test_given_the_command_start_up_then_the_warnings_settings_are_those_the_full_cdk_import_makes():
    def settings(before: str) -> dict:
        script = WARNINGS.format(before=before)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
        return json.loads(done.stdout)

    deferred = settings("from source_exports import startup; startup.install()")
    assert deferred == settings("import airbyte_cdk")
    assert deferred["format"] == "UserWarning: text\n"


def test_given_the_installed_command_then_its_entry_point_is_the_start_up():
    scripts = importlib.metadata.entry_points(group="console_scripts")
    (command,) = [point for point in scripts if point.name == "source-exports"]
    assert command.value == "source_exports.startup:main"


class StockSource:
    def _read_stream(self, *args):
        return ("stock", args)


class SeamedSource(SourceSeam, StockSource):
    def read_stream_messages(self, stock, *args):
        return ("ours", stock(), args)

    def traced_exception(self, error, stream_descriptor):
        return ("traced", error, stream_descriptor)


def test_given_the_seam_when_the_cdk_reads_a_stream_then_the_hook_gets_the_stock_reader_and_the_arguments():
    args = ("logger", "stream", "configured", "state manager", "internal config")
    assert SeamedSource()._read_stream(*args) == ("ours", ("stock", args), args)


def test_given_the_seam_when_the_cdk_serializes_an_exception_then_the_hook_classifies_it():
    error = ValueError("x")
    traced = SeamedSource()._serialize_exception("descriptor", error, stream_instance="s")
    assert traced == ("traced", error, "descriptor")
