"""`make bench` / `python -m bench`: a full `source-exports read` of a large export vs a lean reference.

For each format (CSV, gzip CSV, JSON Lines, Parquet) the same deterministic file is served from
127.0.0.1 and read by
- the connector: the installed `source-exports read` through a Cargo run-output stream (CSV and
  gzip CSV; `bench.route`), or `python -m bench.library` (JSON Lines, Parquet: no vendor serves
  them as files yet; the same entrypoint and reader, one synthetic stream);
- the lean reference (`bench.lean`): stream → stdlib csv/json → orjson RECORD lines.
Each is a child process; its stdout is counted (RECORD lines), its peak RSS is its VmHWM.
Prints rows/s, MB/s (of the file), wall time and peak RSS per run (median of `--repeat`), and the
connector/reference ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bench import route
from bench.data import generate
from integration_tests.fake_servers.storage import FakeStorage

FORMATS = ("csv", "csv.gz", "jsonl", "parquet")
RECORD = b'{"type":"RECORD"'


@dataclass
class Measurement:
    format: str
    pipeline: str
    rows: int
    seconds: float
    peak_rss_mb: float
    file_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def mb_per_second(self) -> float:
        return self.file_mb / self.seconds if self.seconds else 0.0


def peak_rss_mb(pid: int) -> Optional[float]:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure(command: Sequence[str], fmt: str, pipeline: str, file_mb: float) -> Measurement:
    """Run `command`, count RECORD lines on its stdout, poll its peak RSS until it exits."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0.0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            value = peak_rss_mb(child.pid)
            if value:
                peak[0] = max(peak[0], value)
            done.wait(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    errors: List[bytes] = []
    drain = threading.Thread(target=lambda: errors.append(child.stderr.read()), daemon=True)
    drain.start()
    rows, tail = 0, b""
    other: List[bytes] = []
    while True:
        chunk = child.stdout.read(1 << 20)
        if not chunk:
            break
        data = tail + chunk
        rows += data.count(RECORD)
        tail = data[-(len(RECORD) - 1) :]
        rows -= tail.count(RECORD)  # never: a full marker cannot fit in the kept tail
        if b'"type":"TRACE"' in chunk and b'"ERROR"' in chunk:
            other.append(chunk[chunk.find(b'"type":"TRACE"') - 1 :][:2000])
    code = child.wait()
    seconds = time.perf_counter() - started
    done.set()
    poller.join()
    drain.join()
    if code != 0 or other:
        detail = (b"".join(other) or b"".join(errors))[-2000:].decode(errors="replace")
        raise RuntimeError(f"{pipeline} on {fmt} failed (exit {code}): {detail}")
    return Measurement(fmt, pipeline, rows, seconds, peak[0], file_mb)


def connector_command(fmt: str, url: str, folder: Path, cargo: Optional[route.BenchCargo]) -> List[str]:
    if cargo is not None:
        (folder / "config.json").write_text(json.dumps(route.config(cargo)))
        (folder / "catalog.json").write_text(json.dumps(route.catalog()))
        command = shutil.which("source-exports") or str(Path(sys.executable).parent / "source-exports")
        return [command, "read", "--config", str(folder / "config.json"), "--catalog", str(folder / "catalog.json")]
    return [sys.executable, "-m", "bench.library", fmt, url]


def run_bench(
    rows: int, repeat: int, formats: Sequence[str], data_dir: Path, csv_route: str = "cargo"
) -> List[Dict[str, Measurement]]:
    """Median measurements per format: [{"connector": m, "lean": m}, ...]."""
    paths = generate(data_dir, rows)
    results = []
    with FakeStorage() as storage, tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        for fmt in formats:
            path = paths[fmt]
            file_mb = path.stat().st_size / 1e6
            key = f"files/{path.name}"
            storage.put_file(key, str(path), content_type="application/octet-stream")
            url = storage.sign(key, ttl_seconds=3600)
            via_cargo = fmt in ("csv", "csv.gz") and csv_route == "cargo"
            cargo = route.BenchCargo(storage, str(path)).start() if via_cargo else None
            try:
                runs: Dict[str, List[Measurement]] = {"connector": [], "lean": []}
                for _ in range(repeat):
                    command = connector_command(fmt, url, Path(scratch), cargo)
                    runs["connector"].append(measure(command, fmt, "connector", file_mb))
                    lean = [sys.executable, "-m", "bench.lean", fmt, url]
                    runs["lean"].append(measure(lean, fmt, "lean", file_mb))
            finally:
                if cargo is not None:
                    cargo.stop()
            results.append({name: median(items) for name, items in runs.items()})
            print_row(results[-1], rows, cargo_route=via_cargo)
    return results


def median(items: List[Measurement]) -> Measurement:
    ordered = sorted(items, key=lambda item: item.seconds)
    chosen = ordered[len(ordered) // 2]
    return Measurement(**{**asdict(chosen), "peak_rss_mb": max(item.peak_rss_mb for item in items)})


HEADER = (
    f"{'format':<8} {'pipeline':<10} {'route':<16} {'rows':>10} {'wall s':>8} {'rows/s':>10} {'MB/s':>7} "
    f"{'peak RSS MB':>11} {'ratio':>6}"
)


def print_row(result: Dict[str, Measurement], rows: int, cargo_route: bool) -> None:
    lean = result["lean"]
    for name, item in result.items():
        ratio = item.rows_per_second / lean.rows_per_second if lean.rows_per_second else 0.0
        where = ("cargo run output" if cargo_route else "library stream") if name == "connector" else "requests+stdlib"
        print(
            f"{item.format:<8} {name:<10} {where:<16} {item.rows:>10,} {item.seconds:>8.2f} "
            f"{item.rows_per_second:>10,.0f} {item.mb_per_second:>7.1f} {item.peak_rss_mb:>11.0f} {ratio:>6.2f}",
            flush=True,
        )
        if item.rows != rows:
            print(f"  !! expected {rows:,} rows, counted {item.rows:,}", flush=True)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated subset of {FORMATS}")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "source-exports-bench")
    parser.add_argument(
        "--csv-route", choices=("cargo", "library"), default="cargo", help="how the connector gets the CSV files"
    )
    args = parser.parse_args(argv)
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    print(f"{args.rows:,} rows × 13 columns, median of {args.repeat}; files in {args.data_dir}", flush=True)
    print(HEADER, flush=True)
    run_bench(args.rows, args.repeat, formats, args.data_dir, args.csv_route)
