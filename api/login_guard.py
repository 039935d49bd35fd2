"""Login abuse: failed logins are limited per username and per client address.

At most MAX_FAILURES failed logins per username (case-insensitive) and per client address within
WINDOW_S; while either is over, every login for it, right or wrong, is a 429 whose Retry-After
says when the oldest failure leaves the window. A successful login clears its username's
failures. The counts live in this process (a dict of deques, pruned as it goes): with several
API processes behind one address each keeps its own counts, so a client can make up to
MAX_FAILURES x processes attempts per window (a shared table would be needed for an exact
limit across processes).
"""

from __future__ import annotations

import math
import time
from collections import deque

MAX_FAILURES = 5
WINDOW_S = 300.0
MAX_KEYS = 100_000  # bound on remembered keys; the oldest are dropped beyond it


class LoginGuard:
    """Sliding-window counts of failed logins (see the module docstring)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S,
                 clock=time.monotonic) -> None:
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self.failures: dict[str, deque[float]] = {}
        self.refused = 0  # logins answered 429

    @staticmethod
    def keys(username: str, address: str | None) -> tuple[str, str]:
        return f"user:{username.strip().lower()}", f"addr:{address or '?'}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self.failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self.failures[key]
        return times

    def retry_after(self, username: str, address: str | None) -> int | None:
        """Seconds to wait when this login must be refused now; None when it may go on."""
        now = self.clock()
        waits = [times[0] + self.window_s - now
                 for key in self.keys(username, address)
                 if len(times := self._recent(key, now)) >= self.max_failures]
        if not waits:
            return None
        self.refused += 1
        return max(1, math.ceil(max(waits)))

    def failed(self, username: str, address: str | None) -> None:
        now = self.clock()
        if len(self.failures) >= MAX_KEYS:
            for key in list(self.failures)[: MAX_KEYS // 10]:
                del self.failures[key]
        for key in self.keys(username, address):
            self.failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        self.failures.pop(self.keys(username, None)[0], None)


def app_login_guard(state: object) -> LoginGuard:
    """The app's failed-login counts (`app.state.login_guard`, created on first use), shared by
    the login route and HTTP Basic API-key checks."""
    guard = getattr(state, "login_guard", None)
    if guard is None:
        guard = LoginGuard()
        state.login_guard = guard  # type: ignore[attr-defined]
    return guard
