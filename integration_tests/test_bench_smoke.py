"""The benchmark (`make bench`) still runs end to end, on a tiny export, so it cannot rot.

Not a performance test: it checks that every pipeline of every format reads every row.
"""

import bench.run
from bench.posthog_data import FORMATS as POSTHOG_FORMATS
from bench.run import FILE_FORMATS, run_bench

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
