"""A token bucket with a bounded queue, so namdrunner never hammers a login node.

Defaults: 5 requests per second, at most 20 waiting. Past the queue depth a request fails at
once with :class:`~namdrunner_core.errors.RateLimitError` instead of piling up.
"""

from __future__ import annotations

import threading
import time

from namdrunner_core.errors import RateLimitError


class RateLimiter:
    """Token bucket: ``rate`` tokens per second, bursts up to ``burst``, ``max_pending`` waiters."""

    def __init__(self, rate: float = 5.0, burst: int = 5, max_pending: int = 20) -> None:
        if rate <= 0 or burst < 1 or max_pending < 0:
            raise ValueError("rate must be > 0, burst >= 1, max_pending >= 0")
        self.rate = rate
        self.burst = burst
        self.max_pending = max_pending
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._pending = 0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now

    @property
    def pending(self) -> int:
        """How many callers are waiting for a token now."""
        with self._lock:
            return self._pending

    def acquire(self) -> float:
        """Take one token, waiting if needed. Returns seconds waited.

        Raises :class:`RateLimitError` when ``max_pending`` callers already wait.
        """
        start = time.monotonic()
        with self._lock:
            self._refill(start)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            if self._pending >= self.max_pending:
                raise RateLimitError(
                    f"too many pending requests: {self._pending} already waiting "
                    f"(limit {self.max_pending}, {self.rate:g} requests/s); try again shortly"
                )
            self._pending += 1
        try:
            while True:
                with self._lock:
                    now = time.monotonic()
                    self._refill(now)
                    if self._tokens >= 1.0:
                        self._tokens -= 1.0
                        return now - start
                    wait = (1.0 - self._tokens) / self.rate
                time.sleep(wait)
        finally:
            with self._lock:
                self._pending -= 1
