"""The container image builds and works the way the Airbyte platform runs it.

A session fixture builds the project's `Dockerfile` with rootful podman (no Docker engine and no
registry here: see docs/container.md and integration_tests/container/podman_image.sh), then the
tests run `spec`, `check`, `discover` and `read` in the container against the fake vendor
servers on 127.0.0.1 (the container shares the host network) and compare the output with the
same commands run by the installed `source-exports` outside the container.

Marker: `image` (deselect with `-m "not image"`). The module skips only when podman cannot be
installed (not root, or apt-get fails); any later failure (base image, wheels, build) fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import pytest

from integration_tests.cli import CliResult, configured_catalog, run_cli
from integration_tests.dockerfile_template import ENTRYPOINT_SCRIPT, final_stage, render_cdk_build

pytestmark = pytest.mark.image

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "container" / "podman_image.sh"
BUILD_TIMEOUT = 1500
RUN_TIMEOUT = 300


def _report(config: pytest.Config, line: str) -> None:
    """Print past pytest's output capture, so the numbers show in a plain `pytest` run."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(f"[image] {line}")
    else:  # pragma: no cover - e.g. under xdist workers
        print(f"[image] {line}")


def _script(*args: str, timeout: float = BUILD_TIMEOUT, log: Optional[Path] = None) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        ["bash", str(SCRIPT), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"$ podman_image.sh {' '.join(args)}  (exit {completed.returncode})\n")
            handle.write(completed.stdout + completed.stderr)
    return completed


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


class Image:
    """The built image and a way to run the connector's commands in it, as users do."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.settings = env
        self.name = env["IMAGE"]
        self.env = {**os.environ, **{k: v for k, v in env.items() if k.startswith("CONTAINERS_")}}

    def podman(self, *args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["podman", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )

    def run(
        self,
        verb: str,
        config: Optional[Mapping[str, Any]] = None,
        catalog: Optional[Mapping[str, Any]] = None,
        state: Optional[Sequence[Mapping[str, Any]]] = None,
        timeout: float = RUN_TIMEOUT,
    ) -> CliResult:
        """`podman run --rm -i -v DIR:/secrets:ro IMAGE verb --config /secrets/config.json …`."""
        folder = Path(tempfile.mkdtemp(prefix="source-exports-image-"))
        try:
            # The container runs as a non-root user: the mounted folder must be readable.
            folder.chmod(0o755)
            args: List[str] = []
            for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
                if value is not None:
                    path = folder / f"{flag[2:]}.json"
                    path.write_text(json.dumps(value))
                    path.chmod(0o644)
                    args += [flag, f"/secrets/{path.name}"]
            completed = self.podman(
                "run",
                "--rm",
                "-i",
                "--network",
                "host",
                "-v",
                f"{folder}:/secrets:ro",
                self.name,
                verb,
                *args,
                timeout=timeout,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return CliResult.from_output(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture(scope="session")
def image(request: pytest.FixtureRequest) -> Iterator[Image]:
    """Build the image once per session; remove images, storage and podman state afterwards."""
    config = request.config
    if os.geteuid() != 0:
        reason = "container image test skipped: rootful podman needs root, and podman cannot be installed without it"
        _report(config, reason)
        pytest.skip(reason)
    started = time.monotonic()
    log = Path(tempfile.mkdtemp(prefix="source-exports-image-log-")) / "build.log"
    tools = _script("tools", log=log)
    if tools.returncode != 0 or shutil.which("podman") is None:
        reason = (
            "container image test skipped: podman could not be installed with apt-get "
            f"(exit {tools.returncode}):\n{_tail(tools.stdout + tools.stderr, 15)}"
        )
        _report(config, reason)
        pytest.skip(reason)
    tools_seconds = time.monotonic() - started
    try:
        steps = {}
        for step in ("base", "wheels", "build"):
            step_started = time.monotonic()
            completed = _script(step, log=log)
            steps[step] = time.monotonic() - step_started
            if completed.returncode != 0:
                pytest.fail(
                    f"podman_image.sh {step} failed (exit {completed.returncode}); full log {log}:\n"
                    f"{_tail(completed.stdout + completed.stderr)}",
                    pytrace=False,
                )
        env = dict(line.split("=", 1) for line in _script("env").stdout.splitlines() if "=" in line)
        built = Image(env)
        size, base_size = (
            int(built.podman("image", "inspect", "--format", "{{.Size}}", name).stdout.strip() or 0)
            for name in (built.name, env["BASE_IMAGE"])
        )
        _report(
            config,
            f"built {built.name} in {time.monotonic() - started:.0f} s "
            f"(tools {tools_seconds:.0f} s, base {steps['base']:.0f} s, wheels {steps['wheels']:.0f} s, "
            f"build {steps['build']:.0f} s); image size {size / 1e6:.0f} MB "
            f"({(size - base_size) / 1e6:.0f} MB over the {base_size / 1e6:.0f} MB stand-in base)",
        )
        yield built
    finally:
        cleaned = _script("clean", timeout=300)
        if cleaned.returncode != 0 or "WARNING" in cleaned.stderr:
            _report(config, f"cleanup incomplete: {_tail(cleaned.stdout + cleaned.stderr, 10)}")
        else:
            _report(config, "removed the containers, images and podman storage (base rootfs and wheels stay cached)")
        shutil.rmtree(log.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def vendors() -> Iterator[Any]:
    from integration_tests.fake_servers.vendors import FakeVendors

    with FakeVendors() as fakes:
        yield fakes


def _bad_token(config: Mapping[str, Any]) -> Dict[str, Any]:
    """The same config with every vendor secret replaced by a wrong one."""
    bad = json.loads(json.dumps(config))
    for block in bad.values():
        if isinstance(block, dict):
            for key in ("api_token", "api_key", "access_token_secret"):
                if key in block:
                    block[key] = "wrong-token-0000"
    return bad


# Metadata columns naming a vendor-side export job and its file. A read that creates exports
# (PostHog on-demand exports, Spaaza with create_exports) gets new ids on every run, so two
# reads of the same data differ only there.
EXPORT_IDENTITY = ("_ab_export_id", "_ab_task_id", "_ab_source_file")
# Metadata columns derived from the vendor's clock at read time (Cargo's window end is its `Date`
# header minus a settle margin): two reads a few seconds apart rightly differ there, so those
# values are compared for presence and type only.
READ_TIME = ("_ab_window_end",)


def _canonical(records: Sequence[Mapping[str, Any]]) -> List[str]:
    return sorted(json.dumps(_read_time_masked(record), sort_keys=True) for record in records)


def _read_time_masked(record: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: (type(v).__name__ if k in READ_TIME else v) for k, v in record.items()}


def _without_identity(record: Mapping[str, Any]) -> str:
    masked = _read_time_masked(record)
    return json.dumps({k: v for k, v in masked.items() if k not in EXPORT_IDENTITY}, sort_keys=True)


def _grouped_by_export(records: Sequence[Mapping[str, Any]]) -> List[List[str]]:
    """Rows grouped by their export identity, with the identity values themselves dropped."""
    groups: Dict[str, List[str]] = {}
    for record in records:
        identity = json.dumps([record.get(key) for key in EXPORT_IDENTITY])
        groups.setdefault(identity, []).append(_without_identity(record))
    return sorted(sorted(rows) for rows in groups.values())


def _masked(message: str) -> str:
    """Digits masked: request counters of the fake servers differ between two runs."""
    return re.sub(r"\d+", "N", message)


def test_given_built_image_when_spec_in_container_then_same_specification_as_host(image: Image) -> None:
    container = image.run("spec")
    host = run_cli("spec")

    assert container.returncode == 0, container.stderr
    (spec,) = [message["spec"] for message in container.of_type("SPEC")]
    (host_spec,) = [message["spec"] for message in host.of_type("SPEC")]
    assert spec == host_spec
    assert spec["connectionSpecification"]["properties"]
    assert not container.of_type("NOT_JSON"), container.stdout_lines[:5]


def test_given_built_image_when_inspected_then_laid_out_like_cdk_template_and_no_host_files(image: Image) -> None:
    """What `airbyte-cdk image build` would produce: the template's user, workdir, entrypoint script
    and environment, and this package installed in the base image's Python under /usr/local."""
    inspected = json.loads(image.podman("image", "inspect", image.name).stdout)[0]["Config"]
    env = dict(item.split("=", 1) for item in inspected["Env"])
    scratch = Path(tempfile.mkdtemp(prefix="source-exports-cdk-"))
    try:
        cdk = render_cdk_build(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    template = final_stage(cdk.dockerfile, cdk.build_args)
    probe = image.podman(
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        image.name,
        "-c",
        "id -un; id -u; cat /entrypoint.sh; echo ---; "
        "python -c 'import source_exports, importlib.metadata as m; "
        'print(source_exports.__file__); print(m.version("source-exports"))\'; echo ---; '
        # Nothing of the build machine or the build context: no sources, wheels, caches or test tools.
        "find /wheels /root /airbyte/integration_code -mindepth 1 2>/dev/null; "
        "ls /etc/pip.conf /etc/xdg/pip /root/.config/pip /root/.netrc /src 2>/dev/null; "
        "ls /usr/local/lib/python3.11/site-packages | grep -i -E '^(pytest|requests_mock|airbyte$|duckdb)' || true",
    )
    user, uid, rest = probe.stdout.split("\n", 2)
    script, package, leftovers = rest.split("---\n")

    assert probe.returncode == 0, probe.stderr
    assert inspected["Entrypoint"] == template.entrypoint == ["/entrypoint.sh"]
    assert env["AIRBYTE_ENTRYPOINT"] == template.env["AIRBYTE_ENTRYPOINT"]
    assert inspected.get("User") == template.user == "airbyte"
    assert inspected.get("WorkingDir") == template.workdir
    assert (user, uid) == ("airbyte", "1000")
    assert script == ENTRYPOINT_SCRIPT
    assert package.splitlines() == [
        "/usr/local/lib/python3.11/site-packages/source_exports/__init__.py",
        _setup_version(),
    ]
    assert leftovers.strip() == "", leftovers


def _setup_version() -> str:
    match = re.search(r'version="([^"]+)"', (HERE.parent / "setup.py").read_text())
    assert match, "no version in setup.py"
    return match.group(1)


def test_given_good_config_when_check_in_container_then_succeeded(image: Image, vendors: Any) -> None:
    result = image.run("check", config=vendors.config())

    assert result.returncode == 0, result.stderr
    assert result.connection_status["status"] == "SUCCEEDED", result.connection_status


def test_given_bad_token_when_check_in_container_then_failed_like_host(image: Image, vendors: Any) -> None:
    bad = _bad_token(vendors.config())
    result = image.run("check", config=bad)
    host = run_cli("check", config=bad)

    assert result.connection_status["status"] == "FAILED", result.connection_status
    assert result.connection_status.get("message")
    assert _masked(result.connection_status["message"]) == _masked(host.connection_status["message"])
    assert "wrong-token-0000" not in "\n".join(result.stdout_lines + [result.stderr])


def test_given_fake_servers_when_discover_in_container_then_same_catalog_as_host(image: Image, vendors: Any) -> None:
    config = vendors.config()
    result = image.run("discover", config=config)
    host = run_cli("discover", config=config)

    assert result.returncode == 0, result.stderr
    assert result.catalog["streams"], "empty catalog"
    assert result.catalog == host.catalog


def test_given_fake_servers_when_read_in_container_then_same_records_as_host(
    image: Image, vendors: Any, request: pytest.FixtureRequest
) -> None:
    config = vendors.config()
    catalog = run_cli("discover", config=config).catalog
    streams = [stream["name"] for stream in catalog["streams"]]
    configured = configured_catalog(catalog, streams)

    started = time.monotonic()
    result = image.run("read", config=config, catalog=configured)
    container_seconds = time.monotonic() - started
    host = run_cli("read", config=config, catalog=configured)

    assert result.returncode == 0, _tail(result.stderr)
    assert not result.errors, result.errors
    assert host.returncode == 0 and not host.errors, host.errors
    container_streams = {m["record"]["stream"] for m in result.of_type("RECORD")}
    host_streams = {m["record"]["stream"] for m in host.of_type("RECORD")}
    assert container_streams == host_streams
    assert host_streams, "the host read produced no records at all"
    new_exports = []
    for stream in sorted(host_streams):
        in_container, on_host = result.records(stream), host.records(stream)
        if _canonical(in_container) != _canonical(on_host):
            # Only the ids of exports created by each read may differ; every other value (but the
            # read-time columns) is equal and rows are split across exports/files the same way.
            new_exports.append(stream)
            assert _grouped_by_export(in_container) == _grouped_by_export(on_host), stream
    _report(
        request.config,
        f"container read: {len(result.records())} records from {len(host_streams)} streams "
        f"in {container_seconds:.1f} s, equal to the host read"
        + (f" (export ids created per read differ in {', '.join(new_exports)})" if new_exports else ""),
    )
