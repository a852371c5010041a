"""``State(invoke=...)``: python-statemachine 3's invocations, run by statefleet's drivers.

A handler is a callable (sync or ``async def``), an object or class with ``run(ctx)``
(python-statemachine's ``IInvoke``), a method named ``on_invoke_<state>``, or a
``StateChart`` subclass (run as an SCXML child chart). A callable handler runs when the
state is entered and is cancelled when it exits (under actors, an ``async`` one really runs
concurrently); its return value comes back as ``done.invoke.<state>.<n>`` with ``data=`` the
result, an exception as ``error.execution`` with ``error=`` (python-statemachine's events,
so ``done_invoke_<state> = ...`` and ``error_execution = ...`` declare the transitions).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from statefleet.core import EventData, Invocation

__all__ = ["InvokeContext"]


class InvokeContext:
    """What an invoke handler receives as ``ctx`` (python-statemachine's ``InvokeContext``).

    ``invokeid``, ``state_id``, ``machine`` (the chart instance), ``kwargs`` (the data of the
    event that entered the state) and ``send(event, **data)`` to the machine.
    """

    def __init__(self, invocation: Invocation, state_id: str) -> None:
        self.invokeid = invocation.id
        self.state_id = state_id
        self.machine = invocation.owner
        event = invocation.event
        data = event.data if isinstance(event, EventData) else None
        self.kwargs: dict[str, Any] = dict(data) if isinstance(data, dict) else {}
        self._invocation = invocation

    def send(self, event: str, /, **data: Any) -> None:
        """Send ``event`` to the machine (an external event, as python-statemachine does)."""
        self._invocation.send(event, **data)


def _caller(func: Callable[..., Any], bound: bool) -> Callable[[InvokeContext], Any]:
    """Call ``func`` with its parameters injected by name: ``ctx``, ``machine`` and the
    entering event's data (``**kwargs`` takes all of them). Decided once, here."""
    params = list(inspect.signature(func).parameters.values())
    if bound:
        params = params[1:]
    names = [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    varkw = any(p.kind is p.VAR_KEYWORD for p in params)

    def call(ctx: InvokeContext) -> Any:
        pool: dict[str, Any] = {**ctx.kwargs, "ctx": ctx, "machine": ctx.machine}
        kwargs = pool if varkw else {n: pool[n] for n in names if n in pool}
        if bound:
            return func(ctx.machine, **kwargs)
        return func(**kwargs)

    return call


def invoke_source(handler: Any, state_id: str, bound: bool = False) -> Callable[[Invocation], Any]:
    """The core service running ``handler`` for ``state_id`` (an ``activity``: it sends its
    own ``done.invoke`` / ``error.execution``, like python-statemachine)."""
    call: Callable[[InvokeContext], Any]
    if isinstance(handler, type):
        cls = handler

        def run_new(ctx: InvokeContext) -> Any:
            return cls().run(ctx)

        call = run_new
    elif not inspect.isroutine(handler) and callable(getattr(handler, "run", None)):
        call = handler.run
    else:
        call = _caller(handler, bound)

    def finish(ctx: InvokeContext, result: Any) -> None:
        ctx.send(f"done.invoke.{ctx.invokeid}", data=result)

    def fail(ctx: InvokeContext, exc: Exception) -> None:
        ctx.send("error.execution", error=exc)

    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "run", None)
    ):

        async def run_async(invocation: Invocation) -> None:
            ctx = InvokeContext(invocation, state_id)
            try:
                result = await call(ctx)
            except Exception as exc:
                fail(ctx, exc)
                return
            finish(ctx, result)

        return run_async

    def run(invocation: Invocation) -> None:
        ctx = InvokeContext(invocation, state_id)
        try:
            result = call(ctx)
        except Exception as exc:
            fail(ctx, exc)
            return
        finish(ctx, result)

    return run
