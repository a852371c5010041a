"""xstate-statemachine's plugins: :class:`PluginBase` hooks and :class:`LoggingInspector`.

Register one with ``interpreter.use(plugin)`` (sync :class:`XStateSession` or async
:class:`Interpreter`). The hooks statefleet calls: ``on_interpreter_start``,
``on_interpreter_stop``, ``on_event_received``, ``on_transition`` (the initial transition,
then each event that changed the active states or took a targetless transition),
``on_done``, and, for the actions and service functions of a machine made by
``create_machine``, ``on_action_execute``/``on_action_error`` and
``on_service_start``/``on_service_done``/``on_service_error`` (see ``_hooks``). Guard hooks
are not called (see ``docs/migrate-xstate-statemachine.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self

__all__ = ["LoggingInspector", "Pluggable", "PluginBase", "TransitionInfo"]

log = logging.getLogger("statefleet.xstate")


@dataclass(frozen=True, slots=True)
class TransitionInfo:
    """What ``on_transition`` receives as ``transition``: the event and the states it
    left (``source``) and entered (``target``), as state ids."""

    event: str
    source: frozenset[str]
    target: frozenset[str]


class PluginBase:
    """Base class of interpreter plugins: override the hooks you need (all do nothing)."""

    def on_interpreter_start(self, interpreter: Any) -> None:
        """The interpreter started (its initial states are entered)."""

    def on_interpreter_stop(self, interpreter: Any) -> None:
        """The interpreter is stopping."""

    def on_event_received(self, interpreter: Any, event: Any) -> None:
        """An event was sent to the interpreter (before it is processed)."""

    def on_transition(
        self,
        interpreter: Any,
        from_states: frozenset[Any],
        to_states: frozenset[Any],
        transition: TransitionInfo,
    ) -> None:
        """A macrostep changed the active states (``from_states``/``to_states`` are the
        chart's state nodes)."""

    def on_done(self, interpreter: Any, output: Any) -> None:
        """The machine reached its top-level final state."""

    def on_action_execute(self, interpreter: Any, action: Any) -> None:
        """One of your actions is about to run (``action`` is its ``ActionDefinition``)."""

    def on_action_error(self, interpreter: Any, action: Any, error: Exception) -> None:
        """One of your actions raised ``error`` (it goes on as ``error.execution``)."""

    def on_service_start(self, interpreter: Any, invocation: Any) -> None:
        """A service function of yours starts (``invocation.src`` names it)."""

    def on_service_done(self, interpreter: Any, invocation: Any, result: Any) -> None:
        """A service function of yours returned ``result``."""

    def on_service_error(self, interpreter: Any, invocation: Any, error: Exception) -> None:
        """A service function of yours raised ``error``."""


class LoggingInspector(PluginBase):
    """Logs events and transitions to the ``statefleet.xstate`` logger (level INFO)."""

    def on_event_received(self, interpreter: Any, event: Any) -> None:
        """Log the event's type and payload."""
        log.info("event %s %r", getattr(event, "type", event), getattr(event, "payload", None))

    def on_transition(
        self,
        interpreter: Any,
        from_states: frozenset[Any],
        to_states: frozenset[Any],
        transition: TransitionInfo,
    ) -> None:
        """Log the states left and entered."""
        log.info(
            "transition on %s: %s -> %s",
            transition.event,
            sorted(transition.source),
            sorted(transition.target),
        )


class Pluggable:
    """Mixin of both interpreters: ``use(plugin)`` and the ``plugins`` list (assigning it
    replaces them, as in xstate-statemachine)."""

    _plugins: list[PluginBase]
    #: the registered plugins as the action and service hooks read them on every call: a
    #: tuple, replaced (never changed in place) by :meth:`use` and by assigning ``plugins``
    #: (reading the ``plugins`` copy per action cost ~100 ns)
    plugin_hooks: tuple[PluginBase, ...] = ()

    def use(self, plugin: PluginBase) -> Self:
        """Register a :class:`PluginBase` (xstate-statemachine's ``use``); returns ``self``."""
        check_plugin(plugin)
        self._plugins.append(plugin)
        self.plugin_hooks = tuple(self._plugins)
        return self

    @property
    def plugins(self) -> list[PluginBase]:
        """The registered plugins (a copy: assign a list to replace them)."""
        return list(self._plugins)

    @plugins.setter
    def plugins(self, value: list[PluginBase]) -> None:
        if not isinstance(value, list | tuple):
            raise TypeError("plugins takes a list of PluginBase instances")
        for plugin in value:
            check_plugin(plugin)
        self._plugins = list(value)
        self.plugin_hooks = tuple(value)


def check_plugin(plugin: Any) -> None:
    """Raise ``TypeError`` unless ``plugin`` is a :class:`PluginBase`."""
    if not isinstance(plugin, PluginBase):
        raise TypeError(f"use() takes a PluginBase instance, not {type(plugin).__name__}")


def notify(plugins: Iterable[PluginBase], hook: str, *args: Any) -> None:
    """Call ``hook(*args)`` on every plugin that has it; a plugin that raises is logged, not
    fatal."""
    for plugin in plugins:
        method = getattr(plugin, hook, None)
        if method is None:
            continue
        try:
            method(*args)
        except Exception:
            log.exception("xstate plugin %r failed in %s", plugin, hook)


def report_step(
    plugins: Iterable[PluginBase],
    interpreter: Any,
    nodes: Any,
    event: str,
    before: frozenset[str],
    after: frozenset[str],
    taken: bool = False,
) -> None:
    """Call ``on_transition`` when a macrostep changed the active states ``before`` ->
    ``after`` or ``taken`` a transition that left them as they were (a targetless one);
    ``nodes`` maps state ids to the chart's nodes."""
    if before == after and not taken:
        return
    info = TransitionInfo(event, before - after, after - before)
    notify(
        plugins,
        "on_transition",
        interpreter,
        frozenset(nodes[i] for i in before if i in nodes),
        frozenset(nodes[i] for i in after if i in nodes),
        info,
    )
