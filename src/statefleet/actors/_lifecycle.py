"""An actor cell's life: its states, what its runs return, and the helpers its supervisor
shares with it (copying a datamodel, closing an awaitable that will never be awaited)."""

from __future__ import annotations

import copy
import inspect
import logging
from typing import Any

import anyio

from statefleet.core import _algorithm

__all__ = [
    "ATOMIC",
    "AWAIT",
    "CONTINUE",
    "DRAINED",
    "ENDED",
    "IDLE",
    "MORE",
    "NO_EFFECTS",
    "OWNED",
    "QUEUED",
    "RESTART",
    "RESTARTING",
    "RUNNING",
    "STOPPED",
    "close_awaitable",
    "contained",
    "copy_context",
]

log = logging.getLogger("statefleet.actors")

# actor states (ints: compared on the hot path)
IDLE = 0  # no work, no task
QUEUED = 1  # on the run queue
RUNNING = 2  # being run by the dispatcher (synchronously)
OWNED = 3  # a task of its own is running it (awaiting async actions or a commit)
RESTARTING = 4  # crashed, waiting for its backoff timer
STOPPED = 5  # terminal

# after_step results
CONTINUE = 0

# run results
DRAINED = 0
MORE = 1
AWAIT = 2
ENDED = 3

#: the engine's shared empty effect list: what a driver resets an engine's ``effects`` to
#: once it carried them out (the engine appends to a list of its own on its next effect)
NO_EFFECTS: list[Any] = _algorithm._NO_EFFECTS

#: the types of datamodel values a checkpoint may share with the live datamodel (immutable)
ATOMIC = frozenset({str, int, float, bool, type(None), bytes})
RESTART = object()  # timer key of a pending restart


def copy_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """A copy of a datamodel that later mutations cannot reach (fast for flat contexts).

    A value that cannot be deep-copied (a lock, a live view of the session) is shared: the
    copy is shallow then."""
    for v in ctx.values():
        if type(v) not in ATOMIC:
            try:
                return copy.deepcopy(ctx)
            except Exception:
                log.debug("context cannot be deep-copied; copying it shallowly", exc_info=True)
                return dict(ctx)
    return ctx.copy()  # (a plain dict, as dict(ctx) gives: ~30 ns less on 3.13)


#: what never stays inside an actor: the interpreter leaving, a generator closing
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit)


def contained(exc: BaseException) -> BaseException | None:
    """What an actor reports for ``exc``, raised by its chart's code or around it: the
    exception stays inside the actor (its supervisor decides). ``None``: it must propagate
    (the interpreter exits, or the task is being cancelled).

    A ``BaseException`` that is not an ``Exception`` (a front-end's private signal, such as
    the class DSL's way to carry a validator's error out of ``send``) is reported as the
    exception that caused it."""
    if isinstance(exc, Exception):
        return exc
    if isinstance(exc, (*_PASS_THROUGH, anyio.get_cancelled_exc_class())):
        return None
    cause = exc.__cause__ or exc.__context__
    return cause if isinstance(cause, Exception) else exc


def close_awaitable(aw: Any) -> None:
    """Close an awaitable that will never be awaited (no 'never awaited' warning)."""
    close = getattr(aw, "close", None)
    if close is not None and inspect.iscoroutine(aw):
        close()
