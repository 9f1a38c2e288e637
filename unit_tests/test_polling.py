"""The shared poll schedule: growing pauses, a ceiling, and never sleeping past the deadline."""

from source_exports.polling import PollSchedule


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_given_growing_interval_when_pausing_then_pauses_grow_to_the_ceiling():
    clock = FakeClock()
    schedule = PollSchedule(interval=2, timeout=1000, ceiling=5, sleep=clock.sleep, clock=lambda: clock.now)
    for _ in range(4):
        schedule.pause()
    assert clock.sleeps == [2, 3, 4.5, 5]


def test_given_deadline_close_when_pausing_then_sleep_stops_at_the_deadline_and_schedule_expires():
    clock = FakeClock()
    schedule = PollSchedule(interval=4, timeout=5, sleep=clock.sleep, clock=lambda: clock.now)
    schedule.pause()
    assert not schedule.expired
    schedule.pause()
    assert clock.sleeps == [4, 1] and schedule.expired and schedule.elapsed == 5


def test_given_a_pause_longer_than_the_heartbeat_when_pausing_then_it_logs_while_waiting(caplog):
    clock = FakeClock()
    schedule = PollSchedule(
        interval=300, timeout=1000, sleep=clock.sleep, clock=lambda: clock.now, label="Spaaza export task 7"
    )
    with caplog.at_level("INFO", logger="airbyte"):
        schedule.pause()
    assert clock.sleeps == [120, 120, 60]  # 300 s in pieces of at most POLL_HEARTBEAT_SECONDS
    assert [record.getMessage() for record in caplog.records] == [
        "Still waiting for Spaaza export task 7: 120 s of at most 1,000 s; next check in 180 s",
        "Still waiting for Spaaza export task 7: 240 s of at most 1,000 s; next check in 60 s",
    ]


def test_given_a_job_never_done_when_polling_then_checks_are_numbered_paused_between_and_end_past_the_deadline():
    clock = FakeClock()
    schedule = PollSchedule(interval=2, timeout=7, ceiling=10, sleep=clock.sleep, clock=lambda: clock.now)
    checks = []
    for poll in schedule.polls():
        checks.append((poll, clock.now))
    assert checks == [(0, 0), (1, 2), (2, 5), (3, 7)]  # the last check is made at the deadline, then no pause
    assert clock.sleeps == [2, 3, 2]


def test_given_the_job_done_when_polling_then_no_pause_follows_the_last_check():
    clock = FakeClock()
    schedule = PollSchedule(interval=2, timeout=60, ceiling=10, sleep=clock.sleep, clock=lambda: clock.now)
    for poll in schedule.polls():
        if poll == 2:
            break
    assert clock.sleeps == [2, 3]
