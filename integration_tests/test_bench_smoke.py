"""The benchmark (`make bench`) still runs end to end, on a tiny export, so it cannot rot.

Not a performance test: it checks that every pipeline of every format reads every row.
"""

import subprocess
import sys

import bench.run
from bench.posthog_data import FORMATS as POSTHOG_FORMATS
from bench.run import FILE_FORMATS, run_bench
from source_exports import startup

ALL = list(FILE_FORMATS) + ["json:csv", "text:csv.gz", "wide:jsonl", "json:parquet"] + list(POSTHOG_FORMATS)
"""Every file format, every data shape at least once (all shapes × formats would quadruple the time)."""


def test_given_a_small_export_when_the_benchmark_runs_then_every_pipeline_reads_every_row(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as on a machine that sets it: the children still keep bytecode
    monkeypatch.setattr(bench.run, "BYTECODE_CACHE", tmp_path / "bytecode")
    results = run_bench(rows=300, repeat=1, formats=ALL, data_dir=tmp_path / "data", warmup=0)

    assert [result["connector"].format for result in results] == ALL
    for result in results:
        for name in ("connector", "lean"):
            measurement = result[name]
            assert measurement.rows == 300, (measurement.format, name)
            assert measurement.seconds > 0 and measurement.peak_rss_mb >= measurement.peak_anon_mb > 0
    printed = capsys.readouterr().out
    assert "cargo run output" in printed and "library stream" in printed and "posthog events" in printed
    assert "ratio" not in printed.splitlines()[0]
    # the connector's modules were compiled once, where the next run loads them, as an installed package's are
    assert list((tmp_path / "bytecode").glob("**/source_exports/fast_read.cpython-*.pyc"))


def test_given_a_shell_with_unbuffered_stdio_when_a_pipeline_starts_then_its_output_is_buffered(monkeypatch):
    """Unbuffered, the lean reader would make a system call of every record it writes; the connector does
    not (it writes many records at once), so the ratio would favour the connector for no reason of its own."""
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("SOME_OTHER_SETTING", "kept")

    env = bench.run.child_env()

    assert "PYTHONUNBUFFERED" not in env and "PYTHONDONTWRITEBYTECODE" not in env
    assert env["SOME_OTHER_SETTING"] == "kept"


def test_given_the_library_route_when_it_starts_then_it_runs_with_the_commands_start_up_settings():
    """`make bench` reads JSON Lines and Parquet through `bench.library`: it must read as `source-exports` does."""
    probe = "import gc, bench.library; print(gc.get_threshold()[0], gc.get_freeze_count() > 0)"

    printed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=bench.run.child_env(), check=True
    ).stdout

    assert printed.split() == [str(startup.YOUNG_THRESHOLD), "True"]
