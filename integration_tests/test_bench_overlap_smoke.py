"""`python -m bench.overlap` (in `make bench`) still runs end to end on tiny routes, so it cannot rot.

Not a performance test: it checks that each route reads, serially and concurrently, the same records.
"""

import sys

from bench.overlap import main


def test_given_tiny_routes_when_the_overlap_benchmark_runs_then_both_reads_of_each_route_agree(capsys):
    main(
        [
            "--python",
            sys.executable,
            "--windows",
            "2",
            "--export-seconds",
            "0.2",
            "--export-concurrency",
            "2",
            "--artifacts",
            "6",
            "--latency",
            "0.01",
            "--download-concurrency",
            "3",
            "--spaaza-export-seconds",
            "0.2",
            "--spaaza-export-concurrency",
            "2",
        ]
    )
    printed = capsys.readouterr().out
    assert printed.count("same records in the same order: True") == 2, printed  # PostHog and Spaaza
    assert printed.count("same records in order: True") == 1, printed
    assert "export_concurrency  2" in printed and "download_concurrency  3" in printed
