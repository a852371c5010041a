"""hsm's attributes: named values of a machine kept in its datamodel.

``hsm.Attribute(name, default)`` declares one; ``hsm.Get``/``hsm.Set`` read and write it on a
running machine; a change of value dispatches a change event named after the attribute's
qualified name (``/<machine>/<name>``) carrying an :class:`AttributeChange`, which is what
``hsm.OnSet(name)`` (and ``hsm.When(name)``) transitions wait for. The values live in the
session's datamodel under the short name, so under other drivers (a plain ``Session``, an
actor) behaviours read them as ``instance.<name>`` and snapshots carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from statefleet.core import StatefleetError
from statefleet.formats._builder import DataInstance

__all__ = ["AttributeChange", "attribute_value", "change_event"]


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """The data of an attribute's change event (hsm's ``AttributeChange``)."""

    name: str
    value: Any
    old_value: Any = None


def change_event(machine: str, name: str) -> str:
    """The change event of attribute ``name`` of machine ``machine``: ``/<machine>/<name>``."""
    return f"/{machine}/{name}"


def attribute_value(instance: Any, name: str) -> Any:
    """The value of attribute ``name`` as a behaviour sees it: from the running machine of
    an ``hsm.Instance``, else from the datamodel a :class:`DataInstance` shows."""
    from statefleet.compat.hsm._runtime import Instance

    if isinstance(instance, Instance):
        value, ok = instance.machine.get(name)
        if ok:
            return value
    elif isinstance(instance, DataInstance):
        try:
            return getattr(instance, name)
        except AttributeError:
            pass
    raise StatefleetError(f"attribute {name!r} is not set on this machine")
