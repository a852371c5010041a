"""hsm's ``Clock``: timers that wait by calling a ``sleep(duration)`` function.

hsm makes its timers deterministic in tests by injecting a clock whose ``sleep`` the test
releases by hand (``hsm.Config(Clock=hsm.Clock(sleep=manual_sleep))``). A machine given such
a clock keeps time on a :class:`~statefleet.VirtualClock`: each pending timer is waited out
by one call of the clock's ``sleep(timedelta)``, and when that returns, time moves to the
timer's due time and it fires. A sleep whose timer is cancelled meanwhile (its state exited)
is cancelled too. Any object with an async ``sleep(timedelta)`` method is a clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio

__all__ = ["Clock", "DefaultClock", "sleep_of"]


async def _real_sleep(duration: timedelta) -> None:
    await anyio.sleep(duration.total_seconds())


class Clock:
    """hsm's ``Clock(sleep=...)``: ``sleep(duration: timedelta)`` waits out a timer (default:
    a real sleep)."""

    __slots__ = ("sleep",)

    def __init__(self, sleep: Callable[[timedelta], Awaitable[Any]] | None = None) -> None:
        if sleep is not None and not callable(sleep):
            raise TypeError(f"Clock(sleep=...) takes an async function, not {sleep!r}")
        self.sleep = sleep if sleep is not None else _real_sleep

    def __repr__(self) -> str:
        return f"Clock(sleep={getattr(self.sleep, '__qualname__', self.sleep)!r})"


#: hsm's fallback clock: real sleeps
DefaultClock = Clock()


def sleep_of(clock: Any) -> Callable[[timedelta], Awaitable[Any]] | None:
    """The ``sleep`` of an hsm-style clock, or None if ``clock`` is not one."""
    sleep = getattr(clock, "sleep", None)
    return sleep if callable(sleep) else None
