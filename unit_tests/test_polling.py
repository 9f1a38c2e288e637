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
