"""The client-side rate limit of gateway calls (payments/ratelimit.py): calls spread evenly at the limit, never
more in any second — also when the process was too busy to start them on time — and the live or test-mode limit
chosen by the gateway's mode."""
import threading
import time

import pytest
from django.core.cache import cache

from payments import ratelimit
from payments.ratelimit import RateLimiter, SharedSecondLimiter, limiter_for, rate_limit
from payments.registry import get_gateway


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def busiest_second(starts):
    starts = sorted(starts)
    return max(sum(1 for other in starts if start <= other < start + 1) for start in starts)


def test_calls_are_spread_evenly_at_the_limit():
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)
    starts = [round(limiter.acquire() - 100, 6) for _ in range(10)]
    assert starts == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8]


def test_an_idle_limiter_lets_the_next_call_go_at_once():
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 3
    assert limiter.acquire() == 103.0


def test_threads_late_for_their_slots_do_not_go_together_beyond_the_limit():
    stall_until = time.monotonic() + 1.0

    def busy_sleep(seconds):  # for its first second the process is too busy to wake anyone before the end of it
        time.sleep(max(seconds, stall_until - time.monotonic()))

    limiter, starts, lock = RateLimiter(10, sleep=busy_sleep), [], threading.Lock()

    def calls():
        for _ in range(4):
            start = limiter.acquire()
            with lock:
                starts.append(start)

    threads = [threading.Thread(target=calls) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(starts) == 24
    assert busiest_second(starts) <= 10


def test_a_limit_must_allow_some_calls():
    with pytest.raises(ValueError, match="more than zero"):
        RateLimiter(0)


@pytest.mark.django_db
def test_the_test_mode_limit_applies_to_a_gateway_in_test_mode(stripe_enabled, settings):
    settings.PAYMENT_RATE_LIMIT, settings.PAYMENT_RATE_LIMIT_TEST = 90, 22
    gateway = get_gateway("stripe")
    assert (rate_limit(True), rate_limit(False)) == (22, 90)
    assert limiter_for(gateway).per_second == 22 and limiter_for(gateway) is limiter_for(get_gateway("stripe"))
    stripe_enabled.test_mode = False
    stripe_enabled.save()
    assert limiter_for(get_gateway("stripe")).per_second == 90


class FakeTime:
    """A clock that moves only when a limiter sleeps (monotonic and wall clock alike)."""

    def __init__(self, start=1_000.0):
        self.now = start

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_the_shared_limit_holds_for_several_processes_together():
    """Two processes' limiters (two objects, one cache as Redis would be): 3 a second between them, not 3 each."""
    cache.clear()
    time_ = FakeTime()
    processes = [SharedSecondLimiter(3, name="test-shared", clock=time_.clock, sleep=time_.sleep,
                                     wall_clock=time_.clock) for _ in range(2)]
    starts = []
    for n in range(9):
        processes[n % 2].acquire()
        starts.append(int(time_.now))
    assert [starts.count(second) for second in sorted(set(starts))] == [3, 3, 3]


def test_the_shared_limiter_is_used_when_the_setting_asks(stripe_enabled, settings):
    settings.PAYMENT_RATE_LIMIT_SHARED = True
    ratelimit._limiters.clear()
    try:
        limiter = limiter_for(get_gateway("stripe"))
        assert isinstance(limiter, SharedSecondLimiter) and limiter.name.startswith("payment-rate:stripe:")
    finally:
        ratelimit._limiters.clear()
