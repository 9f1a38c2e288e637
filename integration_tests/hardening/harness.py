"""What every hardening case shares: running the CLI with output checks, comparing rows, and the figures.

Every CLI run goes through `run()`, which scans every output line (records, logs, traces,
state, stderr) for secret values, signed-URL query parameters and Python tracebacks, and fails
the case on the spot when one appears. `compare()` counts lost and duplicated rows value by
value; `committed()` is what a destination keeps of a failed sync (the rows before the last
STATE of each stream), so "fail, then re-run from the saved state" can be checked for exactness.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from integration_tests import cli
from integration_tests.cli import COMMAND, CliResult, run_cli

SIGNED_URL_MARKERS = ("X-Amz-Signature", "X-Amz-Credential", "X-Amz-Date=", "X-Amz-Expires=")
TRACEBACK = "Traceback (most recent call last)"
VOLATILE_COLUMNS = frozenset({"_ab_source_file", "_ab_export_id", "_ab_task_id", "_ab_window_start", "_ab_window_end"})
"""Columns naming the export or window a row came from: a new export per read (or windows cut from another
cursor) gives new values for the same rows, so exactness is judged on every other column."""
SECRET_KEYS = ("api_token", "api_key", "access_token_secret", "access_token_id")


@dataclass
class Figures:
    """What one case measured; the session summary adds them up."""

    case: str = ""
    rows_compared: int = 0
    rows_lost: int = 0
    rows_duplicated: int = 0
    cli_runs: int = 0
    lines_scanned: int = 0
    peak_rss_mb: Optional[float] = None
    """The largest VmHWM of the CLI runs that measured it (`Runner.run(..., measure=True)`)."""
    notes: List[str] = field(default_factory=list)

    def add(self, comparison: Comparison) -> None:
        self.rows_compared += comparison.compared
        self.rows_lost += comparison.lost
        self.rows_duplicated += comparison.duplicated


@dataclass
class Comparison:
    compared: int
    lost: int
    duplicated: int
    examples: List[str]

    @property
    def exact(self) -> bool:
        return self.lost == 0 and self.duplicated == 0


def canonical(row: Mapping[str, Any], drop: Iterable[str] = VOLATILE_COLUMNS) -> str:
    skipped = set(drop)
    return json.dumps({key: value for key, value in row.items() if key not in skipped}, sort_keys=True, default=str)


def compare(
    expected: Sequence[Mapping[str, Any]], got: Sequence[Mapping[str, Any]], drop: Iterable[str] = VOLATILE_COLUMNS
) -> Comparison:
    """Multiset comparison, value by value: rows missing from `got` are lost, extra copies are duplicated."""
    drop = list(drop)
    want = Counter(canonical(row, drop) for row in expected)
    have = Counter(canonical(row, drop) for row in got)
    lost = want - have
    extra = have - want
    examples = [f"lost: {row[:200]}" for row in list(lost)[:2]] + [f"extra: {row[:200]}" for row in list(extra)[:2]]
    return Comparison(len(expected), sum(lost.values()), sum(extra.values()), examples)


def secrets_of(config: Mapping[str, Any]) -> List[str]:
    """Every secret value of a connector config (vendor tokens and keys)."""
    found = []
    for block in config.values():
        if isinstance(block, Mapping):
            found += [str(block[key]) for key in SECRET_KEYS if block.get(key) and len(str(block[key])) >= 6]
    return found


def output_violations(result: CliResult, secrets: Sequence[str]) -> List[str]:
    """Lines that leak a secret or a signed URL's query, and tracebacks outside a TRACE's stack_trace."""
    problems = []
    lines = [(f"stdout:{number}", line) for number, line in enumerate(result.stdout_lines, start=1)]
    lines += [(f"stderr:{number}", line) for number, line in enumerate(result.stderr.splitlines(), start=1)]
    for where, line in lines:
        for secret in secrets:
            if secret in line:
                problems.append(f"{where}: secret value printed: {line[:160]}")
        for marker in SIGNED_URL_MARKERS:
            if marker in line:
                problems.append(f"{where}: signed URL query printed ({marker}): {line[:160]}")
    for message in result.messages:
        if message.get("type") == "LOG" and TRACEBACK in message["log"].get("message", ""):
            problems.append(f"LOG with a traceback: {message['log']['message'][:160]}")
        if message.get("type") == "TRACE" and message["trace"].get("type") == "ERROR":
            error = message["trace"]["error"]
            for key in ("message", "internal_message"):
                if TRACEBACK in (error.get(key) or ""):
                    problems.append(f"TRACE {key} holds a traceback")
        if message.get("type") == "NOT_JSON":
            problems.append(f"stdout line is not an Airbyte message: {message['line'][:160]}")
    if TRACEBACK in result.stderr:
        problems.append("stderr holds a traceback")
    return problems


class Runner:
    """Runs the CLI for one case, checks every line it printed, and counts runs and lines."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures
        self.results: List[CliResult] = []

    def run(
        self,
        verb: str,
        config: Mapping[str, Any],
        catalog: Optional[Mapping[str, Any]] = None,
        state: Optional[Sequence[Mapping[str, Any]]] = None,
        env: Optional[Mapping[str, str]] = None,
        extra_secrets: Sequence[str] = (),
        measure: bool = False,
    ) -> CliResult:
        with environment(env or {}), measuring_command() if measure else contextlib.nullcontext():
            result = run_cli(verb, config, catalog, state, timeout=120)
        if measure:
            result, peak = take_peak(result)
            self.figures.peak_rss_mb = max(peak, self.figures.peak_rss_mb or 0.0)
        return self._checked(result, [*secrets_of(config), *extra_secrets])

    def run_with_config_text(self, verb: str, text: str, catalog: Optional[Mapping[str, Any]] = None) -> CliResult:
        """Run the CLI with a config file holding `text` as-is (not JSON, a list, empty …)."""
        with tempfile.TemporaryDirectory(prefix="source-exports-test-") as folder:
            config = Path(folder) / "config.json"
            config.write_text(text)
            args = [COMMAND, verb, "--config", str(config)]
            if catalog is not None:
                (Path(folder) / "catalog.json").write_text(json.dumps(catalog))
                args += ["--catalog", str(Path(folder) / "catalog.json")]
            done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        return self._checked(CliResult.from_output(done.returncode, done.stdout, done.stderr), [])

    def _checked(self, result: CliResult, secrets: Sequence[str]) -> CliResult:
        self.figures.cli_runs += 1
        self.figures.lines_scanned += len(result.stdout_lines) + len(result.stderr.splitlines())
        self.results.append(result)
        problems = output_violations(result, secrets)
        assert not problems, "\n".join(problems[:10])
        return result


PEAK_MARKER = "source-exports-test-peak-rss-kb="
MEASURING_WRAPPER = f"""#!{sys.executable}
# Runs the real command and writes its peak RSS to stderr. The wrapper is small, so its own memory,
# which the child inherits until exec (ru_maxrss survives exec), cannot inflate the figure.
import os, sys
pid = os.posix_spawnp({cli.COMMAND!r}, [{cli.COMMAND!r}, *sys.argv[1:]], os.environ)
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\n{PEAK_MARKER}%d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@contextlib.contextmanager
def measuring_command() -> Iterator[None]:
    """While active, `run_cli` runs the command through a wrapper that reports the command's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="source-exports-rss-") as folder:
        wrapper = Path(folder) / "measured-source-exports"
        wrapper.write_text(MEASURING_WRAPPER)
        wrapper.chmod(0o755)
        saved, cli.COMMAND = cli.COMMAND, str(wrapper)
        try:
            yield
        finally:
            cli.COMMAND = saved


def take_peak(result: CliResult) -> Tuple[CliResult, float]:
    """The peak RSS (MB) the measuring wrapper wrote to stderr, and the result without that line."""
    lines = result.stderr.splitlines()
    peaks = [int(line[len(PEAK_MARKER) :]) for line in lines if line.startswith(PEAK_MARKER)]
    assert peaks, "the CLI ran without the memory-measuring wrapper"
    result.stderr = "\n".join(line for line in lines if not line.startswith(PEAK_MARKER))
    return result, peaks[-1] / 1024


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the CLI subprocess, restoring them afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def stream_of(message: Mapping[str, Any]) -> Optional[str]:
    if message.get("type") == "RECORD":
        return message["record"]["stream"]
    if message.get("type") == "STATE":
        return message["state"]["stream"]["stream_descriptor"]["name"]
    return None


def committed(result: CliResult, stream: str) -> List[Dict[str, Any]]:
    """The stream's records that precede its last STATE: what a destination keeps of a failed sync."""
    rows: List[Dict[str, Any]] = []
    pending: List[Dict[str, Any]] = []
    for message in result.messages:
        if stream_of(message) != stream:
            continue
        if message["type"] == "RECORD":
            pending.append(message["record"]["data"])
        else:
            rows += pending
            pending = []
    return rows


def errors_by_stream(result: CliResult) -> Dict[Optional[str], Dict[str, Any]]:
    return {(error.get("stream_descriptor") or {}).get("name"): error for error in result.errors}


def stream_errors(result: CliResult) -> Dict[str, Dict[str, Any]]:
    """TRACE errors of single streams (not the CDK's closing summary)."""
    return {name: error for name, error in errors_by_stream(result).items() if name}


def warnings(result: CliResult, pattern: str) -> List[str]:
    regex = re.compile(pattern)
    return [
        log["message"] for log in result.logs if log["level"] in ("WARN", "WARNING") and regex.search(log["message"])
    ]


def catalog_of(streams: Sequence[Tuple[str, bool, Sequence[str]]]) -> Dict[str, Any]:
    """A configured catalog built directly: (name, incremental, cursor) with a permissive schema."""
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "json_schema": {"type": "object", "properties": {}, "additionalProperties": True},
                    "supported_sync_modes": ["full_refresh", "incremental"] if incremental else ["full_refresh"],
                },
                "sync_mode": "incremental" if incremental else "full_refresh",
                "destination_sync_mode": "append",
                "cursor_field": list(cursor),
            }
            for name, incremental, cursor in streams
        ]
    }
