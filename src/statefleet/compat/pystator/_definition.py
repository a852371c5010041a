"""What a pystator machine declares: its states, transitions and triggers, and the config
keys the chart does not hold (groups, classification, error policy), as pystator's
``StateMachine`` describes them. :class:`~statefleet.compat.pystator.StateMachine` inherits
these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statefleet.compat.pystator._config import Extras
from statefleet.compat.pystator._errors import ErrorPolicy, InvalidStateError
from statefleet.compat.pystator._model import State, Transition
from statefleet.core._chart import Node
from statefleet.formats._resolve import did_you_mean
from statefleet.formats._yaml import PystatorModel

__all__ = ["MachineDefinition"]


class MachineDefinition:
    """The description half of a machine (see the module docstring)."""

    model: PystatorModel
    _extras: Extras
    _nodes: Mapping[str, Node]

    # -- the config keys the chart does not hold -------------------------------------------
    @property
    def error_policy(self) -> ErrorPolicy:
        """The :class:`ErrorPolicy`: ``error_policy`` and the strictness keys of ``meta``."""
        return self._extras.error_policy

    @property
    def strict_mode(self) -> bool:
        """``meta.strict_mode``."""
        return self._extras.error_policy.strict_mode

    @property
    def groups(self) -> dict[str, str | None]:
        """The ``groups`` section: each group's name and description (None if it has none)."""
        return dict(self._extras.groups)

    def group_of(self, state: str) -> str | None:
        """The group ``state`` belongs to (its ``group`` key), or None."""
        if state not in self._nodes:
            raise InvalidStateError(
                f"{state!r} is not a state of machine {self.name!r}"
                f"{did_you_mean(state, self.model.states)}",
                current_state=state,
            )
        return self._extras.state_groups.get(state)

    def states_in_group(self, group: str) -> list[str]:
        """The states whose ``group`` is ``group``, in declaration order."""
        return [s for s in self.model.states if self._extras.state_groups.get(s) == group]

    @property
    def classification(self) -> dict[str, Any] | None:
        """``meta.classification`` as given (checked: known keys, ``default_state`` a state),
        or None."""
        c = self._extras.classification
        return dict(c) if c is not None else None

    @property
    def orchestrator_default_fallback(self) -> str:
        """``meta.orchestrator_default_fallback``: ``"off"`` (default), ``"hint"`` or
        ``"persist"``; for your orchestration (statefleet's machine does not act on it)."""
        return self._extras.orchestrator_default_fallback

    # -- description -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``meta.machine_name``."""
        return self.model.machine_name

    @property
    def version(self) -> str:
        """``meta.version``."""
        return self.model.version

    @property
    def states(self) -> tuple[str, ...]:
        """Every state name, in declaration order."""
        return tuple(self.model.states)

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger, in declaration order."""
        return self.model.triggers

    @property
    def initial_state(self) -> str:
        """The state of type ``initial``."""
        return self.model.initial_state

    @property
    def terminal_states(self) -> tuple[str, ...]:
        """The states of type ``terminal``."""
        return self.model.terminal_states

    def __repr__(self) -> str:
        return (
            f"<StateMachine {self.name!r} v{self.version}: {len(self.model.states)} states,"
            f" {len(self.triggers)} triggers>"
        )

    # -- pystator's queries ----------------------------------------------------------------
    @property
    def state_names(self) -> list[str]:
        """Every state name, in declaration order."""
        return list(self.model.states)

    @property
    def trigger_names(self) -> list[str]:
        """Every trigger, in declaration order."""
        return list(self.model.triggers)

    @property
    def meta(self) -> dict[str, Any]:
        """The config's ``meta``, with its ``groups`` section under ``"groups"``, as
        pystator keeps them."""
        source = self._config
        out = dict(source.get("meta") or {})
        if source.get("groups") is not None:
            out["groups"] = source["groups"]
        return out

    @property
    def _config(self) -> Mapping[str, Any]:
        """The config as written (the front-end's keys included), or the chart's."""
        return self._extras.source or self.model.config

    @property
    def transitions(self) -> list[Transition]:
        """The transitions, as :class:`Transition` objects, in declaration order."""
        return [Transition.from_config(t) for t in self._config.get("transitions") or ()]

    def validate_state(self, name: str) -> bool:
        """Is ``name`` a state of this machine?"""
        return isinstance(name, str) and name in self.model.states

    def _state_config(self, name: str) -> Mapping[str, Any]:
        if not self.validate_state(name):
            raise InvalidStateError(
                f"{name!r} is not a state of machine {self.name!r}"
                f"{did_you_mean(name, self.model.states)}",
                current_state=str(name),
            )
        for s in self._config.get("states") or ():
            if isinstance(s, Mapping) and s.get("name") == name:
                return s
        return {"name": name}  # named only in a region's state list

    def get_state(self, name: str) -> State:
        """The :class:`State` named ``name`` (:class:`InvalidStateError` if there is none)."""
        return State.from_config(self._state_config(name))

    def get_initial_state(self) -> State:
        """The state of type ``initial``."""
        return self.get_state(self.model.initial_state)

    def is_terminal(self, name: str) -> bool:
        """Is ``name`` a ``terminal`` state?"""
        return self.get_state(name).is_terminal

    def is_initial(self, name: str) -> bool:
        """Is ``name`` the ``initial`` state?"""
        return self.get_state(name).is_initial

    def get_available_transitions(self, state: str) -> list[Transition]:
        """The transitions declared from ``state`` or from a state containing it."""
        self._state_config(state)
        node = self._nodes[state]
        around = {state, *(a.id for a in node.ancestors)}
        return [t for t in self.transitions if t.sources & around]
