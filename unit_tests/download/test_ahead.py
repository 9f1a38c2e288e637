"""`ahead`: work on a few items at once, results taken in input order, leftovers discarded."""

import threading

import pytest

from source_exports.download.ahead import ahead


class Gate:
    """Work that records how many items run at once; item 0 waits until item 1 has started."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = self.max_running = 0
        self.started_1 = threading.Event()

    def __call__(self, item):
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            if item == 1:
                self.started_1.set()
            if item == 0:
                assert self.started_1.wait(10)
            if item == 3:
                raise ValueError("item 3 failed")
            return item * 10
        finally:
            with self.lock:
                self.running -= 1


def test_given_items_when_worked_ahead_then_results_in_input_order_bounded_and_errors_per_item():
    work = Gate()
    results = []
    for item, future in ahead(range(8), work, concurrency=3):
        try:
            results.append((item, future.result()))
        except ValueError as error:
            results.append((item, str(error)))
    assert results == [(0, 0), (1, 10), (2, 20), (3, "item 3 failed"), (4, 40), (5, 50), (6, 60), (7, 70)]
    assert 1 < work.max_running <= 3


def test_given_the_caller_stops_early_when_results_were_made_ahead_then_they_are_discarded():
    discarded, started = [], []

    def work(item):
        started.append(item)
        return item

    taken = ahead(range(10), work, concurrency=4, discard=discarded.append)
    item, future = next(taken)
    assert (item, future.result()) == (0, 0)
    taken.close()  # waits for the work already started; what never started is cancelled
    assert sorted(discarded) == sorted(set(started) - {0})
    assert set(started) <= {0, 1, 2, 3, 4}


def test_given_no_items_when_worked_ahead_then_nothing():
    with pytest.raises(StopIteration):
        next(ahead([], lambda item: item, concurrency=2))
