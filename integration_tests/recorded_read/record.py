"""Write the golden files of the recorded read: `python -m integration_tests.recorded_read.record [CASE ...]`.

Only for a change that means to change records or state (see recording.py); needs the
installed `source-exports` command (`make setup`, then run with `.venv/bin/python`).
"""

from __future__ import annotations

import argparse
from typing import List, Optional

from integration_tests.recorded_read.recording import CASES, GOLDEN, golden_path, record_case, write_golden


def main(argv: Optional[List[str]] = None) -> None:
    names = [case.name for case in CASES]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"cases to re-record (default: all): {names}")
    chosen = parser.parse_args(argv).cases or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {names}")
    GOLDEN.mkdir(exist_ok=True)
    for case in CASES:
        if case.name in chosen:
            for read, lines in record_case(case).items():
                path = golden_path(case, read)
                write_golden(path, lines)
                print(f"{path.relative_to(GOLDEN.parent)}: {len(lines)} messages")


if __name__ == "__main__":
    main()
