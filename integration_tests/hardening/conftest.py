"""Collects each hardening case's figures and prints the summary table when the pytest run ends."""

from __future__ import annotations

from typing import Dict, Iterator, List

import pytest

from integration_tests.hardening.harness import Figures, Runner

CASES: Dict[str, Figures] = {}
OUTCOMES: Dict[str, str] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """This case's figures (rows compared, lost, duplicated, CLI runs); the summary table reads them."""
    found = Figures(case=f"{request.node.module.__name__.rsplit('.', 1)[-1]}::{request.node.name}")
    CASES[request.node.nodeid] = found
    return found


@pytest.fixture
def cli(figures: Figures) -> Runner:
    """Runs the installed command for this case and checks every line it prints."""
    return Runner(figures)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    relevant = item.nodeid in CASES and (report.when == "call" or report.failed)
    if relevant and (report.failed or OUTCOMES.get(item.nodeid) != "failed"):
        OUTCOMES[item.nodeid] = "passed" if report.passed else ("skipped" if report.skipped else "failed")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001 (pytest signature)
    if not CASES:
        return
    rows: List[List[str]] = []
    groups: Dict[str, List[int]] = {}
    for nodeid, found in CASES.items():
        outcome = OUTCOMES.get(nodeid, "not run")
        group = found.case.split("::", 1)[0]
        totals = groups.setdefault(group, [0, 0, 0, 0, 0, 0])
        for index, value in enumerate(
            (1, outcome == "passed", found.rows_compared, found.rows_lost, found.rows_duplicated, found.cli_runs)
        ):
            totals[index] += int(value)
        peak = f"{found.peak_rss_mb:.0f}" if found.peak_rss_mb is not None else "-"
        rows.append(
            [
                found.case,
                outcome,
                str(found.rows_compared),
                str(found.rows_lost),
                str(found.rows_duplicated),
                str(found.cli_runs),
                peak,
            ]
        )
    write = terminalreporter.write_line
    terminalreporter.section("hardening summary")
    header = ["case", "result", "rows compared", "lost", "duplicated", "cli runs", "peak RSS MB"]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    write("  ".join(text.ljust(width) for text, width in zip(header, widths)))
    for row in rows:
        write("  ".join(text.ljust(width) for text, width in zip(row, widths)))
    write("")
    write(f"{'suite':<16}{'cases':>7}{'passed':>8}{'rows compared':>15}{'rows lost':>11}{'duplicated':>12}{'runs':>6}")
    grand = [0] * 6
    for group, totals in groups.items():
        grand = [a + b for a, b in zip(grand, totals)]
        write(f"{group:<16}" + "".join(f"{value:>{w}}" for value, w in zip(totals, (7, 8, 15, 11, 12, 6))))
    write(f"{'total':<16}" + "".join(f"{value:>{w}}" for value, w in zip(grand, (7, 8, 15, 11, 12, 6))))
