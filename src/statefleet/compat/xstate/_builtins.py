"""xstate-statemachine's built-in actions and their creators.

A config names a built-in as an action object, ``{"type": "xstate.sendTo", "params":
{...}}`` (or a short alias: ``"sendTo"``, ``"raise"``, ``"assign"``, ...); the creators
(:func:`assign`, :func:`raise_`, :func:`send_to`, :func:`spawn_child`, :func:`pure`,
:func:`choose`, ...) build those objects. :func:`create_machine` binds an implementation to
each built-in type the config uses unless the caller's logic implements that name itself,
so a user's own action wins. An action ``spawn_<service>`` spawns that service.

They run in SCXML order, inline with the other actions (``assign`` is not moved first); a
built-in that fails raises ``error.execution`` like any action. A function given to a
built-in (an ``assign`` value, a ``log`` message, ``pure``, an event or target) is called
with one argument, ``{"context": ..., "event": ...}``, as xstate-statemachine calls it, or
with ``(context, event)`` when it takes two.

What each needs from the interpreter running it (the ``interpreter`` argument): the sync
:class:`~statefleet.compat.xstate.XStateSession` offers everything; under the async
``Interpreter`` (an actor) delayed sends and ``cancel`` are :class:`NotSupportedError`, and
``raise`` queues the event in the actor's mailbox (see
``docs/migrate-xstate-statemachine.md``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from statefleet.actors import ActorRef
from statefleet.compat.xstate._errors import (
    ActorSpawningError,
    ImplementationMissingError,
    NotSupportedError,
)
from statefleet.compat.xstate._guards import evaluate_guard
from statefleet.compat.xstate._machine import MachineNode
from statefleet.compat.xstate._ports import ActorPort
from statefleet.compat.xstate._reading import named_in
from statefleet.core import Chart, StatefleetError
from statefleet.formats._resolve import MISSING, positional_arity
from statefleet.formats._xstate import ActionDef

__all__ = [
    "BUILTIN_ACTIONS",
    "ActionEnqueuer",
    "assign",
    "builtin_for",
    "cancel",
    "choose",
    "emit",
    "enqueue_actions",
    "escalate",
    "forward_to",
    "log",
    "pure",
    "raise_",
    "send",
    "send_parent",
    "send_to",
    "spawn_child",
    "stop_child",
]

log_ = logging.getLogger("statefleet.xstate")

ASSIGN = "xstate.assign"
RAISE = "xstate.raise"
LOG = "xstate.log"
EMIT = "xstate.emit"
SEND_TO = "xstate.sendTo"
SEND = "xstate.send"
SEND_PARENT = "xstate.sendParent"
FORWARD_TO = "xstate.forwardTo"
ESCALATE = "xstate.escalate"
CANCEL = "xstate.cancel"
SPAWN_CHILD = "xstate.spawnChild"
STOP_CHILD = "xstate.stopChild"
PURE = "xstate.pure"
CHOOSE = "xstate.choose"
ENQUEUE_ACTIONS = "xstate.enqueueActions"
SPAWN_PREFIX = "spawn_"


# -- creators ------------------------------------------------------------------------------
def assign(assignment: Mapping[str, Any] | Callable[..., Any]) -> dict[str, Any]:
    """An ``assign`` action: a mapping of context keys to values (a value may be a function
    of ``{context, event}``), or a function of ``{context, event}`` returning the update."""
    return {"type": ASSIGN, "params": {"assignment": assignment}}


def raise_(
    event: str | Mapping[str, Any] | Callable[..., Any],
    *,
    delay: Any = None,
    send_id: str | None = None,
) -> dict[str, Any]:
    """A ``raise`` action: an event to this machine (a name, ``{"type": ..., ...}``, or a
    function of ``{context, event}`` returning one). Without ``delay`` it is internal,
    processed in this macrostep before any event from outside; with one (milliseconds, or a
    named delay) it arrives later and ``send_id`` can :func:`cancel` it."""
    return {"type": RAISE, "params": {"event": event, "delay": delay, "id": send_id}}


def send_to(
    target: Any,
    event: str | Mapping[str, Any] | Callable[..., Any],
    *,
    delay: Any = None,
    send_id: str | None = None,
) -> dict[str, Any]:
    """A ``sendTo`` action: ``event`` to another actor (a child's id or ``systemId``,
    ``"parent"``, this machine's own id, or a function of ``{context, event}`` returning
    one); ``delay`` and ``send_id`` as for :func:`raise_` (delays: to this machine only)."""
    return {
        "type": SEND_TO,
        "params": {"to": target, "event": event, "delay": delay, "id": send_id},
    }


def send(
    event: str | Mapping[str, Any] | Callable[..., Any],
    *,
    to: Any = None,
    delay: Any = None,
    id: str | None = None,
) -> dict[str, Any]:
    """XState v4's ``send`` action: ``event`` to the actor ``to`` (as :func:`send_to`), or,
    without ``to``, to this machine as an external event (processed after the current one,
    unlike :func:`raise_`); ``delay`` and ``id`` as for :func:`raise_`."""
    return {"type": SEND, "params": {"event": event, "to": to, "delay": delay, "id": id}}


def send_parent(event: str | Mapping[str, Any] | Callable[..., Any]) -> dict[str, Any]:
    """A ``sendParent`` action: ``event`` to the interpreter that spawned this one."""
    return {"type": SEND_PARENT, "params": {"event": event}}


def forward_to(target: Any) -> dict[str, Any]:
    """A ``forwardTo`` action: the current event, as it is, to another actor."""
    return {"type": FORWARD_TO, "params": {"to": target}}


def escalate(error: Any) -> dict[str, Any]:
    """An ``escalate`` action: report ``error`` to the parent as the event
    ``xstate.error.actor.<this actor's id>`` (payload ``error`` and ``src``)."""
    return {"type": ESCALATE, "params": {"error": error}}


def log(expr: str | Callable[..., Any] = "", *, label: str | None = None) -> dict[str, Any]:
    """A ``log`` action: a message, or a function of ``{context, event}`` returning one,
    logged at INFO on ``statefleet.xstate``."""
    return {"type": LOG, "params": {"expr": expr, "label": label}}


def emit(event: str | Mapping[str, Any] | Callable[..., Any]) -> dict[str, Any]:
    """An ``emit`` action: publish an event to the interpreter's ``on(type, handler)``
    handlers; the machine itself does not receive it."""
    return {"type": EMIT, "params": {"event": event}}


def cancel(send_id: str) -> dict[str, Any]:
    """A ``cancel`` action: drop the pending delayed send named ``send_id``."""
    return {"type": CANCEL, "params": {"sendId": send_id}}


def spawn_child(
    src: str, *, actor_id: str | None = None, system_id: str | None = None, input: Any = None
) -> dict[str, Any]:
    """A ``spawnChild`` action: start the service ``src`` (a machine, or a function
    returning one) as a child actor, named ``actor_id`` and ``system_id`` for ``sendTo``,
    started with ``input`` (its context's ``"input"``, or its context function's argument)."""
    return {
        "type": SPAWN_CHILD,
        "params": {"src": src, "id": actor_id, "systemId": system_id, "input": input},
    }


def stop_child(actor_id: Any) -> dict[str, Any]:
    """A ``stopChild`` action: stop a child actor (its id, or a function returning it)."""
    return {"type": STOP_CHILD, "params": {"id": actor_id}}


def pure(fn: Callable[..., Any]) -> dict[str, Any]:
    """A ``pure`` action: ``fn({context, event})`` returns the action(s) to run now (names
    or action objects), or None."""
    return {"type": PURE, "params": {"get": fn}}


def choose(conditions: list[Mapping[str, Any]]) -> dict[str, Any]:
    """A ``choose`` action: the actions of the first ``{"guard": ..., "actions": ...}``
    entry whose guard passes (or that has none)."""
    return {"type": CHOOSE, "params": {"conditions": conditions}}


def enqueue_actions(fn: Callable[..., Any]) -> dict[str, Any]:
    """An ``enqueueActions`` action: ``fn({context, event, enqueue, check, self})`` adds
    actions with ``enqueue(...)``, ``enqueue.assign(...)``, ... (``check(guard)`` evaluates
    a guard); they run in order when it returns."""
    return {"type": ENQUEUE_ACTIONS, "params": {"callback": fn}}


class ActionEnqueuer:
    """The ``enqueue`` object an :func:`enqueue_actions` callback receives (``interpreter``
    and ``event``, xstate-statemachine's constructor arguments, are not used)."""

    def __init__(self, interpreter: Any = None, event: Any = None) -> None:
        self.items: list[Any] = []

    def __call__(self, action: str | Mapping[str, Any]) -> None:
        """Enqueue an action by name or as an action object."""
        self.items.append(action)

    def assign(self, assignment: Mapping[str, Any] | Callable[..., Any]) -> None:
        """Enqueue :func:`assign`."""
        self.items.append(assign(assignment))

    def raise_(self, event: str | Mapping[str, Any]) -> None:
        """Enqueue :func:`raise_`."""
        self.items.append(raise_(event))

    def send_to(self, target: Any, event: str | Mapping[str, Any]) -> None:
        """Enqueue :func:`send_to`."""
        self.items.append(send_to(target, event))

    def send_parent(self, event: str | Mapping[str, Any]) -> None:
        """Enqueue :func:`send_parent`."""
        self.items.append(send_parent(event))

    def emit(self, event: str | Mapping[str, Any]) -> None:
        """Enqueue :func:`emit`."""
        self.items.append(emit(event))

    def log(self, expr: str | Callable[..., Any] = "") -> None:
        """Enqueue :func:`log`."""
        self.items.append(log(expr))

    def cancel(self, send_id: str) -> None:
        """Enqueue :func:`cancel`."""
        self.items.append(cancel(send_id))

    def stop_child(self, actor_id: str) -> None:
        """Enqueue :func:`stop_child`."""
        self.items.append(stop_child(actor_id))

    def spawn_child(self, src: str, **kwargs: Any) -> None:
        """Enqueue :func:`spawn_child`."""
        self.items.append(spawn_child(src, **kwargs))


# -- helpers -------------------------------------------------------------------------------
def call_expr(fn: Callable[..., Any], context: Any, event: Any) -> Any:
    """Call a built-in's function: ``fn({"context": ..., "event": ...})`` (xstate-statemachine's
    form), or ``fn(context, event)`` when it takes two arguments."""
    if positional_arity(fn, 2) >= 2:
        return fn(context, event)
    return fn({"context": context, "event": event})


def _params(action: Any) -> Mapping[str, Any]:
    params = getattr(action, "params", None)
    return params if isinstance(params, Mapping) else {}


def _required(action: Any, key: str) -> Any:
    params = _params(action)
    if key not in params or params[key] is None:
        raise StatefleetError(f"{getattr(action, 'type', 'action')} needs params.{key}")
    return params[key]


def event_object(spec: Any, context: Any, event: Any, what: str) -> tuple[str, dict[str, Any]]:
    """The name and payload of an event given to a built-in: a name, ``{"type": ...}`` or a
    function returning one of those."""
    if callable(spec):
        spec = call_expr(spec, context, event)
    if isinstance(spec, Mapping):
        data = dict(spec)
        name = data.pop("type", None)
        if not isinstance(name, str) or not name:
            raise StatefleetError(f"{what}: an event object needs a string 'type', got {spec!r}")
        return name, data
    if isinstance(spec, str) and spec:
        return spec, {}
    raise StatefleetError(f"{what} takes an event name or object, not {spec!r}")


def _machine(interpreter: Any) -> MachineNode | None:
    chart = getattr(interpreter, "chart", None) or getattr(interpreter, "machine", None)
    return chart if isinstance(chart, MachineNode) else None


def _port(interpreter: Any, what: str) -> Any:
    """What runs this action: a ``SyncInterpreter`` is its own port; under actors the action
    gets the :class:`~statefleet.ActorRef` (and the async ``Interpreter`` that runs it, if
    any, registered itself with the machine)."""
    if isinstance(interpreter, ActorRef):
        machine = _machine(interpreter)
        return ActorPort(interpreter, machine.front_for(interpreter) if machine else None)
    if callable(getattr(interpreter, "publish", None)):
        return interpreter
    raise NotSupportedError(f"{what} needs an xstate interpreter, not {interpreter!r}")


def _delay_seconds(interpreter: Any, raw: Any, context: Any, event: Any) -> float | None:
    """A built-in's ``delay``: milliseconds, a numeric string, or a named delay of the
    machine's logic (a number or a function of ``(context, event)``); None: no delay."""
    if raw is None:
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            machine = _machine(interpreter)
            found = machine.implementation("delay", raw) if machine is not None else MISSING
            if found is MISSING:
                raise ImplementationMissingError(f"unknown delay {raw!r}", path="delay") from None
            value = found(context, event) if callable(found) else found
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise StatefleetError(f"a delay is a number of milliseconds >= 0, not {value!r}")
    try:
        seconds = float(value) / 1000.0
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        raise StatefleetError(f"a delay must be finite, not {value!r}")
    return seconds


def _deliver(target: Any, name: str, data: dict[str, Any]) -> None:
    send_nowait = getattr(target, "send_nowait", None)
    if send_nowait is not None:
        send_nowait(name, **data)
    else:
        target.send(name, **data)


# -- implementations (seed 001's action signature) -----------------------------------------
def _assign(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    assignment = _required(action, "assignment")
    if callable(assignment):
        update = call_expr(assignment, context, event)
        if not isinstance(update, Mapping):
            raise StatefleetError(
                f"an assign function returns a mapping of context updates, not "
                f"{type(update).__name__}"
            )
    elif isinstance(assignment, Mapping):
        update = {
            k: call_expr(v, context, event) if callable(v) else v for k, v in assignment.items()
        }
    else:
        raise StatefleetError("assign takes a mapping or a function of {context, event}")
    context.update(update)


def _raise(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    params = _params(action)
    name, data = event_object(_required(action, "event"), context, event, "xstate.raise")
    port = _port(interpreter, "xstate.raise")
    delay = _delay_seconds(interpreter, params.get("delay"), context, event)
    if delay is None:
        port.raise_(name, **data)
    else:
        port.schedule(name, data, delay, params.get("id"))


def _target(port: Any, spec: Any, context: Any, event: Any, what: str) -> Any:
    if callable(spec):
        spec = call_expr(spec, context, event)
    found = port.actor(spec)
    if found is None:
        raise StatefleetError(f"{what}: no actor {spec!r} to send to")
    return found


def _send_to(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    params = _params(action)
    port = _port(interpreter, "xstate.sendTo")
    target = _target(port, _required(action, "to"), context, event, "xstate.sendTo")
    name, data = event_object(_required(action, "event"), context, event, "xstate.sendTo")
    delay = _delay_seconds(interpreter, params.get("delay"), context, event)
    if delay is None:
        _deliver(target, name, data)
    elif target is port or target is getattr(port, "ref", None) or target is interpreter:
        port.schedule(name, data, delay, params.get("id"))
    else:
        raise NotSupportedError("a delayed sendTo goes to this machine only")


def _send(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    params = _params(action)
    if params.get("to") is not None:
        _send_to(interpreter, context, event, action)
        return
    port = _port(interpreter, "xstate.send")
    name, data = event_object(_required(action, "event"), context, event, "xstate.send")
    delay = _delay_seconds(interpreter, params.get("delay"), context, event)
    if delay is None:
        _deliver(getattr(port, "ref", port), name, data)
    else:
        port.schedule(name, data, delay, params.get("id"))


def _send_parent(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    port = _port(interpreter, "xstate.sendParent")
    parent = port.actor("parent")
    if parent is None:
        raise StatefleetError("xstate.sendParent: this machine has no parent")
    _deliver(parent, *event_object(_required(action, "event"), context, event, "sendParent"))


def _forward_to(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    port = _port(interpreter, "xstate.forwardTo")
    target = _target(port, _required(action, "to"), context, event, "xstate.forwardTo")
    data = event.data if isinstance(event.data, Mapping) else {"data": event.data}
    _deliver(target, event.type, dict(data))


def _escalate(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    port = _port(interpreter, "xstate.escalate")
    parent = port.actor("parent")
    if parent is None:
        raise StatefleetError("xstate.escalate: this machine has no parent")
    error = _required(action, "error")
    if callable(error):
        error = call_expr(error, context, event)
    me = getattr(port, "id", None) or port.ref.id
    _deliver(parent, f"xstate.error.actor.{me}", {"error": error, "src": me})


def _emit(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    name, data = event_object(_required(action, "event"), context, event, "xstate.emit")
    _port(interpreter, "xstate.emit").publish(name, data)


def _log(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    params = _params(action)
    expr = params.get("expr", "")
    message = call_expr(expr, context, event) if callable(expr) else expr
    label = params.get("label")
    log_.info("%s: %s" if label else "%s%s", label or "", message)


def _cancel(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    _port(interpreter, "xstate.cancel").cancel_send(str(_required(action, "sendId")))


def _spawn(interpreter: Any, context: Any, event: Any, src: str, params: Mapping[str, Any]) -> Any:
    machine = _machine(interpreter)
    found = machine.implementation("service", src) if machine is not None else MISSING
    if found is MISSING:
        raise ActorSpawningError(f"cannot spawn {src!r}: no service of that name")
    child = found if isinstance(found, Chart) else None
    if child is None and callable(found):
        child = found(interpreter, context, event)
    if not isinstance(child, Chart):
        raise ActorSpawningError(f"cannot spawn {src!r}: the service is not a machine")
    port = _port(interpreter, "xstate.spawnChild")
    return port.spawn_child(child, params.get("id"), params.get("systemId"), params.get("input"))


def _spawn_child(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> Any:
    src = _required(action, "src")
    if not isinstance(src, str):
        raise ActorSpawningError(f"spawnChild needs a service name as src, not {src!r}")
    _spawn(interpreter, context, event, src, _params(action))


def _spawn_by_type(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> Any:
    _spawn(interpreter, context, event, action.type[len(SPAWN_PREFIX) :], _params(action))


def _stop_child(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> Any:
    spec = _required(action, "id")
    if callable(spec):
        spec = call_expr(spec, context, event)
    return _port(interpreter, "xstate.stopChild").stop_child(spec)


def _items(produced: Any) -> list[Any]:
    if produced is None:
        return []
    return list(produced) if isinstance(produced, list | tuple) else [produced]


def _run_all(interpreter: Any, context: dict[str, Any], event: Any, items: list[Any]) -> None:
    """Run the actions a ``pure``/``choose``/``enqueueActions`` produced, in order."""
    machine = _machine(interpreter)
    for item in items:
        ad = _action_def(item)
        found = machine.implementation("action", ad.type) if machine is not None else MISSING
        if found is MISSING:
            found = builtin_for(ad.type)
        if found is None or found is MISSING:
            raise ImplementationMissingError(f"unknown action {ad.type!r}", path="actions")
        _call_action(found, interpreter, context, event, ad)


def _action_def(item: Any) -> ActionDef:
    if isinstance(item, str):
        return ActionDef(item)
    if isinstance(item, Mapping) and isinstance(item.get("type"), str):
        params = item.get("params")
        if not isinstance(params, Mapping):
            params = {k: v for k, v in item.items() if k != "type"}
        return ActionDef(item["type"], params)
    raise StatefleetError(f"an action is a name or an object with a 'type', not {item!r}")


def _call_action(fn: Any, interpreter: Any, context: Any, event: Any, ad: ActionDef) -> None:
    args = (interpreter, context, event, ad)
    n = positional_arity(fn, 4)
    fn(*args) if n == 4 else fn(*args[1 : n + 1])


def _check_guard(interpreter: Any, context: Any, event: Any, guard: Any) -> bool:
    if callable(guard):
        return bool(guard(context, event))
    machine = _machine(interpreter)
    if machine is None or machine.logic is None:
        raise ImplementationMissingError(f"unknown guard {guard!r}", path="guard")
    return evaluate_guard(machine.logic, guard, context, event)


def _pure(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    getter = _required(action, "get")
    _run_all(interpreter, context, event, _items(call_expr(getter, context, event)))


def _choose(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    for branch in _items(_required(action, "conditions")):
        if not isinstance(branch, Mapping):
            raise StatefleetError(f"a choose branch is an object, not {branch!r}")
        guard = branch.get("guard", branch.get("cond"))
        if guard is None or _check_guard(interpreter, context, event, guard):
            _run_all(interpreter, context, event, _items(branch.get("actions")))
            return


def _enqueue(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    callback = _required(action, "callback")
    enqueue = ActionEnqueuer()
    callback(
        {
            "context": context,
            "event": event,
            "enqueue": enqueue,
            "check": lambda guard: _check_guard(interpreter, context, event, guard),
            "self": interpreter,
        }
    )
    _run_all(interpreter, context, event, enqueue.items)


Builtin = Callable[[Any, dict[str, Any], Any, Any], Any]

#: the built-in action types and their implementations (action signature of seed 001)
BUILTIN_ACTIONS: dict[str, Builtin] = {
    ASSIGN: _assign,
    RAISE: _raise,
    LOG: _log,
    EMIT: _emit,
    SEND_TO: _send_to,
    SEND: _send,
    SEND_PARENT: _send_parent,
    FORWARD_TO: _forward_to,
    ESCALATE: _escalate,
    CANCEL: _cancel,
    SPAWN_CHILD: _spawn_child,
    STOP_CHILD: _stop_child,
    PURE: _pure,
    CHOOSE: _choose,
    ENQUEUE_ACTIONS: _enqueue,
}

#: short names a config may use for a built-in (xstate-statemachine's aliases)
ALIASES: dict[str, str] = {
    "assign": ASSIGN,
    "raise": RAISE,
    "raise_": RAISE,
    "log": LOG,
    "emit": EMIT,
    "send": SEND,
    "sendTo": SEND_TO,
    "send_to": SEND_TO,
    "sendParent": SEND_PARENT,
    "send_parent": SEND_PARENT,
    "forwardTo": FORWARD_TO,
    "forward_to": FORWARD_TO,
    "escalate": ESCALATE,
    "cancel": CANCEL,
    "spawnChild": SPAWN_CHILD,
    "stopChild": STOP_CHILD,
    "stop_child": STOP_CHILD,
    "stop": STOP_CHILD,
    "pure": PURE,
    "choose": CHOOSE,
    "enqueueActions": ENQUEUE_ACTIONS,
    "enqueue_actions": ENQUEUE_ACTIONS,
}


def builtin_for(action_type: str) -> Builtin | None:
    """The built-in implementing ``action_type`` (``xstate.sendTo``, an alias such as
    ``sendTo``, or ``spawn_<service>``), or None."""
    found = BUILTIN_ACTIONS.get(ALIASES.get(action_type, action_type))
    if found is None and action_type.startswith(SPAWN_PREFIX) and len(action_type) > 6:
        return _spawn_by_type
    return found


def action_types(config: Any) -> Iterator[str]:
    """Every action type a config names (in ``entry``, ``exit``, ``actions``), for binding
    the built-ins it uses."""
    return named_in(config, ("entry", "exit", "actions"))
