"""A client-side limit on how many calls a second the portal sends to a gateway, so a run of thousands of automatic
charges (and the reconciliation lookups beside it) never exceeds the provider's own limit — Stripe allows 100
operations a second per account in live mode and 25 in test mode; beyond them it answers 429.

Within a process, one limiter object per gateway and mode is shared by every call thread: calls are spaced
evenly, 1/rate apart, and no second ever holds more than `rate` starts: no bursts. With several worker processes
or machines (docs/scaling.md), PAYMENT_RATE_LIMIT_SHARED (on when REDIS_URL is set) adds a count per second in
the shared cache, so the limit holds for all of them together, not for each one."""
import threading
import time
from collections import deque

from django.conf import settings
from django.core.cache import cache

_limiters = {}
_limiters_lock = threading.Lock()


class RateLimiter:
    """At most `per_second` calls started in any second, spread evenly. Each call books the next slot (1/rate
    after the previous one) and waits for it; when it goes, its start is checked against the starts of the last
    second, so threads that all reach their slots late (the process was busy) do not go together and exceed the
    limit: they wait until the oldest start is a second old. The lock is held only to book and to check, never
    while waiting."""

    def __init__(self, per_second, *, clock=time.monotonic, sleep=time.sleep):
        if per_second <= 0:
            raise ValueError("A rate limit must be more than zero calls a second.")
        self.per_second = per_second
        self.interval = 1 / per_second
        self.per_window = max(1, int(per_second))
        self._clock, self._sleep = clock, sleep
        self._next = None
        self._starts = deque()  # the starts of the last second
        self._lock = threading.Lock()

    def acquire(self):
        """Wait for this call's slot; returns when the call may start (on the limiter's clock)."""
        with self._lock:
            now = self._clock()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self.interval
        while True:
            if slot > now:
                self._sleep(slot - now)
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= 1:
                    self._starts.popleft()
                if len(self._starts) < self.per_window:
                    self._starts.append(now)
                    return now
                slot = self._starts[0] + 1


class SharedSecondLimiter(RateLimiter):
    """The process's limiter, and then a place among the `per_second` starts of the current second, counted in
    the shared cache (Redis) under `name` by every process of every machine. Past the last place the call waits
    for the next second and asks again. Seconds are the machines' clocks (NTP keeps them within milliseconds)."""

    def __init__(self, per_second, *, name, wall_clock=time.time, **kwargs):
        super().__init__(per_second, **kwargs)
        self.name, self._wall_clock = name, wall_clock

    def acquire(self):
        started = super().acquire()
        while True:
            now = self._wall_clock()
            second = int(now)
            if self._place(f"{self.name}:{second}") <= self.per_window:
                return started
            self._sleep(second + 1 - now)

    @staticmethod
    def _place(key):
        cache.add(key, 0, timeout=10)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=10)
            return 1


def rate_limit(test_mode):
    """Calls a second allowed to one gateway: PAYMENT_RATE_LIMIT in live mode, PAYMENT_RATE_LIMIT_TEST in test
    mode (a provider's sandbox allows fewer)."""
    return settings.PAYMENT_RATE_LIMIT_TEST if test_mode else settings.PAYMENT_RATE_LIMIT


def limiter_for(gateway):
    """The limiter shared by every call to this gateway in this process (its key, mode and the limit in force)."""
    test_mode = bool(gateway.settings.test_mode)
    key = (gateway.key, test_mode, rate_limit(test_mode))
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            if settings.PAYMENT_RATE_LIMIT_SHARED:
                name = f"payment-rate:{gateway.key}:{'test' if test_mode else 'live'}"
                limiter = SharedSecondLimiter(key[2], name=name)
            else:
                limiter = RateLimiter(key[2])
            _limiters[key] = limiter
        return limiter
