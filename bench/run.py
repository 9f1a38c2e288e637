"""`make bench` / `python -m bench`: a full `source-exports read` of a large export vs a lean reference.

For each format (CSV, gzip CSV, JSON Lines, Parquet) the same deterministic file is served from
127.0.0.1 and read by
- the connector: the installed `source-exports read` through a Cargo run-output stream (CSV and
  gzip CSV; `bench.route`), or `python -m bench.library` (JSON Lines, Parquet: no vendor serves
  them as files yet; the same entrypoint and reader, one synthetic stream);
- the lean reference (`bench.lean`): stream → stdlib csv/json → orjson RECORD lines.
Both run on `--python` (default: this interpreter; `make bench` passes `.venv-latest`: the runtime
dependencies at the versions the container image installs). Each is a child process; its stdout
is counted (RECORD lines), its peak RSS is its VmHWM (anonymous and file-backed pages; the
largest RssAnon polled is printed beside it). The fake servers run in a third process
(`bench.serve`), so serving does not compete with counting for one GIL.
Prints rows/s, MB/s (of the file), wall time and peak RSS per run (median of `--repeat` runs after
one unmeasured warm-up run of each), and the connector/reference ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Dict, Iterator, List, Optional, Sequence, Tuple

from bench import route
from bench.data import SHAPES, generate
from bench.posthog_data import FORMATS as POSTHOG_FORMATS
from bench.posthog_data import generate_events

FILE_FORMATS = ("csv", "csv.gz", "jsonl", "parquet")
FORMATS = FILE_FORMATS + tuple(f"{shape}:{fmt}" for shape in SHAPES if shape != "mixed" for fmt in FILE_FORMATS)
"""What `--formats` takes besides the PostHog ones: `FORMAT` (the `mixed` shape) or `SHAPE:FORMAT` (bench/data.py)."""
RECORD = b'{"type":"RECORD"'
OUTPUT_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
"""tmpfs for the pipelines' output (a few hundred MB per run, deleted after counting); else the temp dir."""
ROOT = Path(__file__).resolve().parent.parent
"""The repository: `bench.library` / `bench.lean` are imported from it whichever `--python` runs them."""


@dataclass
class Measurement:
    format: str
    pipeline: str
    rows: int
    seconds: float
    peak_rss_mb: float
    file_mb: float
    cpu_seconds: float = 0.0
    """User + system CPU time of the child (all its threads): steadier than wall time on a busy machine."""
    peak_anon_mb: float = 0.0
    """The largest `RssAnon` polled: the child's private memory, without the pages of its libraries and
    files (`RssFile`), which `peak_rss_mb` (VmHWM) counts too and how many the kernel maps varies."""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.file_mb / self.seconds if self.seconds else 0.0


BYTECODE_CACHE = Path(tempfile.gettempdir()) / "source-exports-bench-pycache"
"""Where the children keep the bytecode of the repository's modules (`PYTHONPYCACHEPREFIX`)."""


UNSET_IN_CHILDREN = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")
"""Settings of this shell that the measured pipelines do not run with: no bytecode (see `child_env`), and
unbuffered stdio, which would make the lean reader's every `write` of a record a system call of its own
(~15 % of its time on PostHog events) while the connector writes many records per call either way."""


def child_env() -> Dict[str, str]:
    """The environment of every child: the repository importable whichever interpreter runs it, with bytecode.

    An installed package has its modules compiled (pip does it, and so does the image build). Run from
    the repository where `PYTHONDONTWRITEBYTECODE` is set, every child would compile this package's ~90
    modules from source on each run (~0.1 s of CPU measured as the connector's); so the warm-up run writes
    their bytecode to `BYTECODE_CACHE` and the measured runs load it, as an installed command does.
    """
    env = {key: value for key, value in os.environ.items() if key not in UNSET_IN_CHILDREN}
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE_CACHE)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def memory_mb(pid: int) -> Tuple[Optional[float], Optional[float]]:
    """(VmHWM, RssAnon) of a running process in MB: its peak resident set so far, and its anonymous part now."""
    found: Dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(("VmHWM:", "RssAnon:")):
                    found[line.split(":")[0]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return found.get("VmHWM"), found.get("RssAnon")


def measure(command: Sequence[str], fmt: str, pipeline: str, file_mb: float) -> Measurement:
    """Run `command` and poll its peak RSS until it exits; then count the RECORD lines it printed.

    Its stdout goes to a temporary file, a consumer that always keeps up: on a 2-core machine a
    process reading and counting the pipe as it fills takes a core from the pipeline it measures,
    and costs the faster pipeline more (docs/performance.md). The file is in memory (`OUTPUT_DIR`)
    where possible, so no disk writeback competes for the cores either.
    """
    with tempfile.TemporaryFile(prefix="bench-stdout-", dir=OUTPUT_DIR) as output:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.PIPE, env=child_env())
        peak = [0.0, 0.0]
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                for index, value in enumerate(memory_mb(child.pid)):
                    peak[index] = max(peak[index], value or 0.0)
                done.wait(0.02)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        errors: List[bytes] = []
        drain = threading.Thread(target=lambda: errors.append(child.stderr.read()), daemon=True)
        drain.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = code = os.waitstatus_to_exitcode(status)
        done.set()
        poller.join()
        drain.join()
        output.seek(0)
        rows, failures = count_records(output)
    if code != 0 or failures:
        detail = (b"".join(failures) or b"".join(errors))[-2000:].decode(errors="replace")
        raise RuntimeError(f"{pipeline} on {fmt} failed (exit {code}): {detail}")
    return Measurement(fmt, pipeline, rows, seconds, peak[0], file_mb, usage.ru_utime + usage.ru_stime, peak[1])


def count_records(output: BinaryIO) -> Tuple[int, List[bytes]]:
    """RECORD lines, and the TRACE error lines, of a pipeline's output."""
    rows, failures = 0, []
    for line in output:
        if line.startswith(RECORD):
            rows += 1
        elif line.startswith(b'{"type":"TRACE"') and b'"ERROR"' in line:
            failures.append(line[:2000])
    return rows, failures


def split_format(fmt: str) -> Tuple[str, str]:
    """`json:csv.gz` → (`json`, `csv.gz`); a bare format is of the `mixed` shape."""
    shape, _, file_format = fmt.rpartition(":")
    return shape or "mixed", file_format


def connector_command(fmt: str, endpoint: Dict[str, Any], folder: Path, python: str = sys.executable) -> List[str]:
    """The installed command over a fake vendor (`endpoint` has its config), else `bench.library` on the URL."""
    vendor = {"cargo_config": route.STREAM, "posthog_config": route.POSTHOG_STREAM}
    for key, stream in vendor.items():
        if key not in endpoint:
            continue
        (folder / "config.json").write_text(json.dumps(endpoint[key]))
        (folder / "catalog.json").write_text(json.dumps(route.catalog(stream)))
        command = str(Path(python).parent / "source-exports")
        return [command, "read", "--config", str(folder / "config.json"), "--catalog", str(folder / "catalog.json")]
    return [python, "-m", "bench.library", split_format(fmt)[1], endpoint["url"]]


@contextlib.contextmanager
def served(files: Dict[str, Path], cargo_formats: Sequence[str]) -> Iterator[Dict[str, Dict[str, Any]]]:
    """`bench.serve` in its own process (see there): format → {"url", and "cargo_config" for `cargo_formats`}."""
    arguments = [f"{fmt}={path}" for fmt, path in files.items()] + ["--cargo", ",".join(cargo_formats)]
    command = [sys.executable, "-m", "bench.serve", *arguments]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env())
    try:
        line = server.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark's fake servers did not start (exit {server.wait()})")
        yield json.loads(line)
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def run_bench(
    rows: int,
    repeat: int,
    formats: Sequence[str],
    data_dir: Path,
    csv_route: str = "cargo",
    python: str = sys.executable,
    warmup: int = 1,
) -> List[Dict[str, Measurement]]:
    """Median measurements per format: [{"connector": m, "lean": m}, ...], both pipelines run by `python`."""
    paths: Dict[str, Path] = {}
    for shape in dict.fromkeys(split_format(fmt)[0] for fmt in formats if fmt not in POSTHOG_FORMATS):
        prefix = "" if shape == "mixed" else f"{shape}:"
        paths.update({prefix + fmt: path for fmt, path in generate(data_dir, rows, shape).items()})
    if set(formats) & set(POSTHOG_FORMATS):
        paths.update(generate_events(data_dir, rows))
    cargo_formats = [
        fmt
        for fmt in formats
        if fmt not in POSTHOG_FORMATS and split_format(fmt)[1] in ("csv", "csv.gz") and csv_route == "cargo"
    ]
    results = []
    with (
        served({fmt: paths[fmt] for fmt in formats}, cargo_formats) as endpoints,
        tempfile.TemporaryDirectory(prefix="bench-") as scratch,
    ):
        for fmt in formats:
            file_mb = paths[fmt].stat().st_size / 1e6
            runs: Dict[str, List[Measurement]] = {"connector": [], "lean": []}
            command = connector_command(fmt, endpoints[fmt], Path(scratch), python)
            lean_format = fmt.replace("posthog.", "") if fmt in POSTHOG_FORMATS else split_format(fmt)[1]
            lean = [python, "-m", "bench.lean", lean_format, endpoints[fmt]["url"]]
            for run in range(warmup + repeat):  # warm-up runs: bytecode written, file and page caches filled
                for name, pipeline in (("connector", command), ("lean", lean)):
                    measured = measure(pipeline, fmt, name, file_mb)
                    if run >= warmup:
                        runs[name].append(measured)
            results.append({name: median(items) for name, items in runs.items()})
            print_row(results[-1], rows, route_of(fmt, cargo_formats))
    return results


def median(items: List[Measurement]) -> Measurement:
    ordered = sorted(items, key=lambda item: item.seconds)
    chosen = ordered[len(ordered) // 2]
    peaks = {name: max(getattr(item, name) for item in items) for name in ("peak_rss_mb", "peak_anon_mb")}
    return Measurement(**{**asdict(chosen), **peaks})


HEADER = (
    f"{'format':<15} {'pipeline':<10} {'route':<16} {'rows':>10} {'wall s':>8} {'rows/s':>10} {'MB/s':>7} "
    f"{'peak RSS MB':>11} {'anon MB':>7} {'ratio':>6} {'cpu s':>7} {'cpu ratio':>9}"
)


def route_of(fmt: str, cargo_formats: Sequence[str]) -> str:
    if fmt in POSTHOG_FORMATS:
        return "posthog events"
    return "cargo run output" if fmt in cargo_formats else "library stream"


def print_row(result: Dict[str, Measurement], rows: int, connector_route: str) -> None:
    lean = result["lean"]
    for name, item in result.items():
        ratio = item.rows_per_second / lean.rows_per_second if lean.rows_per_second else 0.0
        cpu_ratio = lean.cpu_seconds / item.cpu_seconds if item.cpu_seconds else 0.0
        where = connector_route if name == "connector" else "requests+stdlib"
        print(
            f"{item.format:<15} {name:<10} {where:<16} {item.rows:>10,} {item.seconds:>8.2f} "
            f"{item.rows_per_second:>10,.0f} {item.mb_per_second:>7.1f} {item.peak_rss_mb:>11.0f} "
            f"{item.peak_anon_mb:>7.0f} {ratio:>6.2f} {item.cpu_seconds:>7.2f} {cpu_ratio:>9.2f}",
            flush=True,
        )
        if item.rows != rows:
            print(f"  !! expected {rows:,} rows, counted {item.rows:,}", flush=True)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help=f"comma-separated, from {FORMATS + tuple(POSTHOG_FORMATS)}; the PostHog ones read PostHog events "
        "through the posthog_events stream, which parses JSON text and respells timestamps per row",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "source-exports-bench")
    parser.add_argument(
        "--csv-route", choices=("cargo", "library"), default="cargo", help="how the connector gets the CSV files"
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter of the environment both pipelines run in (its bin/ must hold source-exports)",
    )
    args = parser.parse_args(argv)
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    print(f"{args.rows:,} rows, median of {args.repeat} after a warm-up run; files in {args.data_dir}", flush=True)
    print(f"both pipelines run on {args.python}", flush=True)
    print(HEADER, flush=True)
    run_bench(args.rows, args.repeat, formats, args.data_dir, args.csv_route, args.python)
