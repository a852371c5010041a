"""xstate-statemachine's waiting helpers: :func:`wait_for`, :func:`to_promise` (XState's
``waitFor`` and ``toPromise``) for the async ``Interpreter``, :func:`wait_for_sync` for
``SyncInterpreter``.

The async ones wait on the actor (checked after each of its macrosteps, no polling);
``timeout`` is in seconds of the actor system's clock (virtual in tests). A sync interpreter
changes only when it is sent an event or its clock is moved, so :func:`wait_for_sync` checks
once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["to_promise", "wait_for", "wait_for_sync"]

_TERMINAL = ("done", "stopped", "error")


async def wait_for(
    interpreter: Any, predicate: Callable[[Any], Any], *, timeout: float | None = 10.0
) -> Any:
    """Return ``interpreter`` once ``predicate(interpreter)`` holds (checked now and after
    every macrostep); :class:`TimeoutError` past ``timeout`` or when the machine stops
    without it."""
    if predicate(interpreter):
        return interpreter
    if interpreter.status in _TERMINAL:
        raise TimeoutError(f"machine {interpreter.machine.id!r} is {interpreter.status}")
    await interpreter.ref.wait_for(lambda _snap: predicate(interpreter), timeout=timeout)
    return interpreter


def wait_for_sync(
    interpreter: Any, predicate: Callable[[Any], Any], *, timeout: float | None = 10.0
) -> Any:
    """Return ``interpreter`` if ``predicate(interpreter)`` holds, else
    :class:`TimeoutError` (nothing moves a sync interpreter while the caller waits: send it
    events, or ``advance()`` its clock, first)."""
    if predicate(interpreter):
        return interpreter
    raise TimeoutError(
        f"machine {interpreter.chart.id!r}: the condition does not hold in"
        f" {sorted(interpreter.current_state_ids)} and nothing can change it while waiting"
    )


async def to_promise(interpreter: Any, *, timeout: float | None = None) -> Any:
    """The machine's ``output`` once it is done (:class:`TimeoutError` past ``timeout``)."""
    await wait_for(interpreter, lambda i: i.done, timeout=timeout)
    return interpreter.output
