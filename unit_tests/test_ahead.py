"""`Ahead` and `ahead`: jobs run ahead in a bounded pool, taken in order, failures at their item, stoppable."""

import itertools
import threading
import time
from typing import Dict, List

import pytest

from source_exports.ahead import Ahead, Closed, ahead

WAIT = 10.0
NAMES = itertools.count()


def pool_name() -> str:
    """A thread-name prefix of one test's pool, so its threads can be counted alone."""
    return f"test-ahead-{next(NAMES)}-"


def threads_named(prefix: str) -> List[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]


class Source:
    """Items 0..count-1, recording which were pulled (an item is pulled only when its job starts)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pulled: List[int] = []

    def __iter__(self):
        for item in range(self.count):
            self.pulled.append(item)
            yield item


class Jobs:
    """Jobs that record how many run at once; `hold[item]` keeps an item's job until that event is set."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.max_running = 0
        self.started: Dict[int, threading.Event] = {}
        self.done: Dict[int, threading.Event] = {}
        self.hold: Dict[int, threading.Event] = {}
        self.fail: Dict[int, Exception] = {}
        self.pause: List[int] = []
        self.threads: Dict[int, threading.Thread] = {}
        self.sleeps: Dict[int, object] = {}

    def started_event(self, item: int) -> threading.Event:
        with self.lock:
            return self.started.setdefault(item, threading.Event())

    def done_event(self, item: int) -> threading.Event:
        with self.lock:
            return self.done.setdefault(item, threading.Event())

    def __call__(self, item: int, sleep) -> int:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.threads[item] = threading.current_thread()
            self.sleeps[item] = sleep
        try:
            self.started_event(item).set()
            if item in self.hold:
                assert self.hold[item].wait(WAIT), f"item {item} was held too long"
            if item in self.pause:
                for _ in range(3):
                    sleep(WAIT)  # ends with `Closed` once the jobs are closed
                return -1
            if item in self.fail:
                raise self.fail[item]
            return item * 10
        finally:
            with self.lock:
                self.running -= 1
            self.done_event(item).set()


def test_given_later_jobs_finish_first_when_taken_then_results_come_in_item_order():
    jobs = Jobs()
    jobs.hold[0] = jobs.done_event(2)  # item 0 ends only once item 2 has ended: later ones finish first
    taken = Ahead(range(6), jobs, concurrency=3, name=pool_name())
    try:
        assert [taken.result_for(item) for item in range(6)] == [0, 10, 20, 30, 40, 50]
    finally:
        taken.close()
    assert 1 < jobs.max_running <= 3


def test_given_a_taken_item_when_jobs_run_ahead_then_only_lookahead_items_are_pulled_and_the_pool_is_bounded():
    jobs, source, name = Jobs(), Source(10), pool_name()
    release = threading.Event()
    jobs.hold = {0: release, 1: release, 2: release}
    taken = Ahead(source, jobs, concurrency=2, lookahead=2, name=name)
    try:
        item, future = taken.take(0)
        assert item == 0
        assert source.pulled == [0, 1, 2]  # the item taken and the two after it, no further
        assert jobs.started_event(0).wait(WAIT) and jobs.started_event(1).wait(WAIT)
        assert len(threads_named(name)) == 2  # item 2 waits for a free worker
        assert not jobs.started_event(2).is_set()  # both workers are held, so it cannot have started
        release.set()
        assert future.result() == 0
        assert [taken.take(position)[1].result() for position in (1, 2)] == [10, 20]
        assert source.pulled == [0, 1, 2, 3, 4]
    finally:
        release.set()
        taken.close()
    assert jobs.max_running == 2


def test_given_the_default_lookahead_when_taking_then_the_item_taken_counts_as_one_in_flight():
    source = Source(10)
    taken = Ahead(source, Jobs(), concurrency=3, name=pool_name())
    try:
        taken.result_for(0)
        assert source.pulled == [0, 1, 2]
    finally:
        taken.close()


def test_given_a_job_fails_when_taken_then_its_error_surfaces_at_its_position_and_later_jobs_stop():
    jobs, source, name = Jobs(), Source(8), pool_name()
    jobs.fail[1] = ValueError("item 1 failed")
    jobs.pause = [2]
    taken = Ahead(source, jobs, concurrency=2, name=name)
    assert taken.result_for(0) == 0
    with pytest.raises(ValueError, match="item 1 failed"):
        taken.result_for(1)
    assert jobs.started_event(2).wait(WAIT)  # item 2 was started ahead and pauses between polls
    unread = taken.close()
    assert len(unread) == 1 and isinstance(unread[0].exception(), Closed)
    assert source.pulled == [0, 1, 2]  # nothing beyond the bound was ever started
    assert threads_named(name) == []


def test_given_an_item_skipped_when_a_later_one_is_taken_then_the_skipped_job_is_cancelled():
    jobs, name = Jobs(), pool_name()
    release = threading.Event()
    jobs.hold = {0: release, 1: release}
    taken = Ahead(range(5), jobs, concurrency=2, lookahead=2, name=name)
    try:
        _, first = taken.take(0)  # items 0 and 1 hold both workers; item 2 waits in the queue
        assert jobs.started_event(1).wait(WAIT)
        _, third = taken.take(3)
        assert taken.take(2) is None  # cancelled before it started, not handed out
        release.set()
        assert (first.result(), third.result()) == (0, 30)
    finally:
        release.set()
        taken.close()
    assert 2 not in jobs.threads


def test_given_an_item_not_planned_or_taken_twice_when_asked_then_it_runs_in_the_callers_thread():
    jobs = Jobs()
    taken = Ahead([0, 1, 2], jobs, concurrency=2, name=pool_name())
    try:
        assert taken.result_for(7) == 70
        assert jobs.threads[7] is threading.current_thread() and jobs.sleeps[7] == taken.sleep
        assert taken.result_for(0) == 0
        assert jobs.threads[0] is not threading.current_thread()
        assert taken.result_for(0) == 0
        assert jobs.threads[0] is threading.current_thread()
    finally:
        taken.close()


def test_given_jobs_closed_when_an_item_is_asked_then_it_runs_here_with_a_plain_sleep():
    jobs = Jobs()
    taken = Ahead([0, 1], jobs, concurrency=2, name=pool_name())
    assert taken.close() == []
    assert taken.result_for(1) == 10
    assert jobs.threads[1] is threading.current_thread() and jobs.sleeps[1] is time.sleep
    assert taken.take(0) is None
    with pytest.raises(Closed):
        taken.sleep(WAIT)


def test_given_every_item_taken_when_asked_then_finished_and_the_threads_end_on_close():
    name = pool_name()
    taken = Ahead([0, 1, 2], Jobs(), concurrency=3, name=name)
    assert not taken.finished()
    assert [taken.result_for(item) for item in (0, 1)] == [0, 10]
    assert not taken.finished()
    assert taken.result_for(2) == 20
    assert taken.finished()
    assert taken.close() == []
    assert threads_named(name) == []


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
                assert self.started_1.wait(WAIT)
            if item == 3:
                raise ValueError("item 3 failed")
            return item * 10
        finally:
            with self.lock:
                self.running -= 1


def test_given_items_when_worked_ahead_then_results_in_input_order_bounded_and_errors_per_item():
    work, name = Gate(), pool_name()
    results = []
    for item, future in ahead(range(8), work, concurrency=3, name=name):
        try:
            results.append((item, future.result()))
        except ValueError as error:
            results.append((item, str(error)))
    assert results == [(0, 0), (1, 10), (2, 20), (3, "item 3 failed"), (4, 40), (5, 50), (6, 60), (7, 70)]
    assert 1 < work.max_running <= 3
    assert threads_named(name) == []


def test_given_a_taken_file_when_worked_ahead_then_concurrency_items_after_it_are_pulled():
    source = Source(10)
    taken = ahead(source, lambda item: item, concurrency=3)
    next(taken)
    assert source.pulled == [0, 1, 2, 3]
    taken.close()


def test_given_the_caller_stops_early_when_results_were_made_ahead_then_they_are_discarded():
    discarded, started, name = [], [], pool_name()

    def work(item):
        started.append(item)
        return item

    taken = ahead(range(10), work, concurrency=4, discard=discarded.append, name=name)
    item, future = next(taken)
    assert (item, future.result()) == (0, 0)
    taken.close()  # waits for the work already started; what never started is cancelled
    assert sorted(discarded) == sorted(set(started) - {0})
    assert set(started) <= {0, 1, 2, 3, 4}
    assert threads_named(name) == []


def test_given_no_items_when_worked_ahead_then_nothing():
    with pytest.raises(StopIteration):
        next(ahead([], lambda item: item, concurrency=2))
