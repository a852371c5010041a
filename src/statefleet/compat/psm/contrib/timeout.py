"""``invoke=timeout(5, on="expired")``: python-statemachine's timeout helper.

statefleet compiles it into a delayed transition of the state (not a waiting thread): the
event is raised ``duration`` seconds after the state was entered, on the instance's clock
(virtual by default, so tests advance it), durable under actors, and cancelled when the state
exits. Without ``on``, ``done.invoke.<state>`` is raised, as python-statemachine does.
"""

from __future__ import annotations

from statefleet.compat.psm.exceptions import InvalidDefinition

__all__ = ["Timeout", "timeout"]


class Timeout:
    """A state's timeout (see :func:`timeout`)."""

    __slots__ = ("duration", "on")

    def __init__(self, duration: float, on: str | None = None) -> None:
        self.duration = duration
        self.on = on

    def __repr__(self) -> str:
        args = f"{self.duration}" + (f", on={self.on!r}" if self.on is not None else "")
        return f"timeout({args})"


def timeout(duration: float, *, on: str | None = None) -> Timeout:
    """A timeout handler for ``State(invoke=...)``: ``on`` (or ``done.invoke.<state>``) is
    raised once the state has been active for ``duration`` seconds."""
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
        raise InvalidDefinition(
            f"timeout duration must be a positive number of seconds, got {duration!r}",
            path="timeout",
        )
    if on is not None and (not isinstance(on, str) or not on):
        raise InvalidDefinition(f"timeout on= must be an event name, not {on!r}", path="timeout")
    return Timeout(float(duration), on)
