"""``State(invoke=...)``: python-statemachine 3's invocations (``statemachine.invoke``), run by
statefleet's drivers.

A handler is a callable (sync or ``async def``), an object or class with ``run(ctx)``
(:class:`IInvoke`; a class is instantiated per invocation), :func:`invoke_group` of
callables, a method under ``@state.invoke`` or named ``on_invoke_<state>``, or a
``StateChart`` subclass (run as an SCXML child chart). It runs when the state is entered; its
return value comes back as ``done.invoke.<state>.<n>`` with ``data=`` the result, an exception
as ``error.execution`` with ``error=`` (python-statemachine's events, so
``done_invoke_<state> = ...`` and ``error_execution = ...`` declare the transitions).

A sync instance runs a handler inline, after the macrostep that entered the state. Under an
actor system the handler is the state's invocation: an ``async`` one runs concurrently and is
cancelled when the state exits (``ctx.cancelled`` is then set and ``on_cancel()`` called).
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from statefleet.core import EventData, Invocation

__all__ = ["IInvoke", "InvokeContext", "InvokeGroup", "invoke_group"]


@runtime_checkable
class IInvoke(Protocol):
    """An invoke handler object: ``run(ctx)`` does the work (optionally ``on_cancel()``)."""

    def run(self, ctx: InvokeContext) -> Any:
        """Do the state's work; the result becomes the ``done.invoke`` event's ``data``."""


class InvokeContext:
    """What an invoke handler receives as ``ctx`` (python-statemachine's ``InvokeContext``).

    ``invokeid``, ``state_id``, ``machine`` (the chart instance), ``kwargs`` (the data of the
    event that entered the state, or the constructor's keyword arguments for the initial
    state), ``cancelled`` (a ``threading.Event`` set when the state exits first) and
    ``send(event, **data)`` to the machine.
    """

    def __init__(self, invocation: Invocation, state_id: str) -> None:
        self.invokeid = invocation.id
        self.state_id = state_id
        handle = invocation.data
        machine = handle.machine if isinstance(handle, MachineHandle) else None
        # the chart instance whose state invoked us (a driver's owner is not always it: an
        # actor system hands its ActorRef)
        self.machine = machine if machine is not None else invocation.owner
        event = invocation.event
        data = event.data if isinstance(event, EventData) else None
        if event is None:
            data = getattr(self.machine, "_sf_start_data", None)
        self.kwargs: dict[str, Any] = dict(data) if isinstance(data, dict) else {}
        self.cancelled = threading.Event()
        self._invocation = invocation

    def send(self, event: str, /, **data: Any) -> None:
        """Send ``event`` to the machine (an external event, as python-statemachine does)."""
        self._invocation.send(event, **data)


class MachineHandle:
    """The data a class chart's invocation starts with: which instance invoked it (held
    weakly; evaluated when the state is entered, so it is the instance an actor runs)."""

    __slots__ = ("_ref",)

    def __init__(self, machine: Any) -> None:
        self._ref: Callable[[], Any]
        try:
            self._ref = weakref.ref(machine)
        except TypeError:  # not weakly referenceable (an ActorRef owning a plain chart)
            self._ref = lambda: machine

    @property
    def machine(self) -> Any:
        """The instance, or ``None`` once it is gone."""
        return self._ref()

    @classmethod
    def of(cls, ctx: Any) -> MachineHandle:
        """``InvokeSpec.params``: the handle of the instance running the macrostep."""
        return cls(ctx.owner)

    def __repr__(self) -> str:
        return f"MachineHandle({self.machine!r})"


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


class InvokeGroup:
    """Callables run for one state whose results arrive together, as one ``done.invoke``
    with ``data=`` the list of results in order (:func:`invoke_group`). If one raises, the
    group fails with ``error.execution``."""

    def __init__(self, *callables: Callable[..., Any]) -> None:
        self.callables = callables
        self._calls = [_caller(c, False) for c in callables]

    async def run(self, ctx: InvokeContext) -> list[Any]:
        """Run every callable (awaiting those that are async) and return their results."""
        results = []
        for call in self._calls:
            result = call(ctx)
            if inspect.isawaitable(result):
                result = await result
            results.append(result)
        return results


def invoke_group(*callables: Callable[..., Any]) -> InvokeGroup:
    """Run ``callables`` as one invocation that is done when all of them are (see
    :class:`InvokeGroup`)."""
    return InvokeGroup(*callables)


def invoke_source(handler: Any, state_id: str, bound: bool = False) -> Callable[[Invocation], Any]:
    """The core service running ``handler`` for ``state_id`` (an ``activity``: it sends its
    own ``done.invoke`` / ``error.execution``, like python-statemachine)."""
    call: Callable[[InvokeContext], Any]
    runner: Any = handler
    if isinstance(handler, type):
        cls = handler
        runner = None

        def run_new(ctx: InvokeContext) -> Any:
            obj = cls()
            ctx.__dict__["_handler"] = obj
            return obj.run(ctx)

        call = run_new
        is_async = inspect.iscoroutinefunction(getattr(cls, "run", None))
    elif not inspect.isroutine(handler) and callable(getattr(handler, "run", None)):
        call = handler.run
        is_async = inspect.iscoroutinefunction(handler.run)
    else:
        call = _caller(handler, bound)
        runner = None
        is_async = inspect.iscoroutinefunction(handler)

    def finish(ctx: InvokeContext, result: Any) -> None:
        ctx.send(f"done.invoke.{ctx.invokeid}", data=result)

    def fail(ctx: InvokeContext, exc: Exception) -> None:
        ctx.send("error.execution", error=exc)

    def cancelled(ctx: InvokeContext) -> None:
        ctx.cancelled.set()
        obj = runner if runner is not None else ctx.__dict__.get("_handler")
        on_cancel = getattr(obj, "on_cancel", None)
        if callable(on_cancel):
            on_cancel()

    if is_async:

        async def run_async(invocation: Invocation) -> None:
            ctx = InvokeContext(invocation, state_id)
            try:
                result = await call(ctx)
            except Exception as exc:
                fail(ctx, exc)
                return
            except BaseException:
                cancelled(ctx)  # the state exited first: the driver cancelled us
                raise
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
