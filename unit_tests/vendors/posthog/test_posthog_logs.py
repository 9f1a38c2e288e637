"""NewestFirstLogWalker against an in-memory log server with PostHog's strict after/before semantics."""

import logging
import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from airbyte_cdk.models import FailureType

from source_exports.errors import UnreadableAnswer, to_traced_exception
from source_exports.vendors.posthog.logs import NewestFirstLogWalker
from source_exports.vendors.posthog.windows import UTC, format_timestamp, parse_timestamp
from unit_tests.vendors.posthog.builders import log_entry

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def entry(seconds: float, message: str, instance: str = "i-1", level: str = "INFO"):
    return log_entry(format_timestamp(T0 + timedelta(seconds=seconds)), message, instance, level)


class LogServer:
    """Newest first, ties in a stable order, `before` strict, at most `limit` entries."""

    def __init__(self, entries, limit):
        self.entries = sorted(entries, key=lambda e: e["timestamp"], reverse=True)
        self.limit = limit
        self.requests = []

    def page(self, before):
        self.requests.append(before)
        chosen = [e for e in self.entries if before is None or parse_timestamp(e["timestamp"]) < before]
        return [dict(e) for e in chosen[: self.limit]]


def walk(entries, limit):
    server = LogServer(entries, limit)
    return list(NewestFirstLogWalker(server.page, limit).walk(before=None)), server


def test_given_ties_across_every_page_edge_when_walked_then_each_entry_exactly_once():
    entries = [entry(10, "a"), entry(9, "b"), entry(9, "c"), entry(9, "d"), entry(8, "e"), entry(8, "f"), entry(7, "g")]
    got, _ = walk(entries, limit=3)
    assert Counter(map(repr, got)) == Counter(map(repr, entries))


def test_given_two_identical_lines_split_by_a_page_edge_when_walked_then_both_are_emitted():
    twin = entry(5, "same line")
    entries = [entry(6, "x"), entry(6, "y"), twin, dict(twin), entry(4, "z")]
    got, _ = walk(entries, limit=3)
    assert [e["message"] for e in got].count("same line") == 2
    assert len(got) == 5


@pytest.mark.parametrize("seed", range(20))
def test_given_random_tie_groups_smaller_than_a_page_when_walked_then_exact_multiset(seed):
    rng = random.Random(seed)
    entries = []
    for second in range(1, rng.randint(2, 41)):
        for position in range(rng.randint(1, 4)):
            entries.append(
                entry(second, rng.choice(["m1", "m2"]), rng.choice(["i1", "i2"]), ["INFO", "WARN"][position % 2])
            )
    got, _ = walk(entries, limit=5)
    assert Counter(map(repr, got)) == Counter(map(repr, entries))


def test_given_short_page_when_walked_then_no_further_request():
    _, server = walk([entry(1, "only")], limit=10)
    assert len(server.requests) == 1


def test_given_page_edge_inside_a_tie_when_walked_then_next_request_includes_that_timestamp():
    entries = [entry(3, "a"), entry(2, "b"), entry(2, "c"), entry(1, "d")]
    _, server = walk(entries, limit=2)
    assert server.requests[1] == T0 + timedelta(seconds=2, microseconds=1)


def test_given_more_entries_at_one_timestamp_than_a_page_when_walked_then_warns_and_moves_on(caplog):
    entries = [entry(5, f"m{i}") for i in range(4)] + [entry(4, "older")]
    with caplog.at_level(logging.WARNING):
        got, _ = walk(entries, limit=3)
    assert [e["message"] for e in got][-1] == "older"
    assert "share the timestamp" in caplog.text


def test_given_an_entry_without_a_timestamp_when_walked_then_an_unreadable_answer_that_is_transient():
    broken = dict(entry(5, "no time"), timestamp="yesterday")

    with pytest.raises(UnreadableAnswer, match="'yesterday'") as caught:
        walk([entry(6, "fine"), broken], limit=2)

    assert to_traced_exception(caught.value).failure_type == FailureType.transient_error
