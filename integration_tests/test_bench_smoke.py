"""The benchmark (`make bench`) still runs end to end, on a tiny export, so it cannot rot.

Not a performance test: it checks that every pipeline of every format reads every row.
"""

from bench.posthog_data import FORMATS as POSTHOG_FORMATS
from bench.run import FILE_FORMATS, run_bench

ALL = list(FILE_FORMATS) + ["json:csv", "text:csv.gz", "wide:jsonl", "json:parquet"] + list(POSTHOG_FORMATS)
"""Every file format, every data shape at least once (all shapes × formats would quadruple the time)."""


def test_given_a_small_export_when_the_benchmark_runs_then_every_pipeline_reads_every_row(tmp_path, capsys):
    results = run_bench(rows=300, repeat=1, formats=ALL, data_dir=tmp_path, warmup=0)

    assert [result["connector"].format for result in results] == ALL
    for result in results:
        for name in ("connector", "lean"):
            measurement = result[name]
            assert measurement.rows == 300, (measurement.format, name)
            assert measurement.seconds > 0 and measurement.peak_rss_mb >= measurement.peak_anon_mb > 0
    printed = capsys.readouterr().out
    assert "cargo run output" in printed and "library stream" in printed and "posthog events" in printed
    assert "ratio" not in printed.splitlines()[0]
