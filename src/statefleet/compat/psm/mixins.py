"""python-statemachine's ``MachineMixin`` (``statemachine.mixins``): a domain model that
creates its own machine.

A model class names its chart class by its fully qualified name; each instance gets a machine
bound to it (the model's ``state_field_name`` holds the state value)::

    class Workflow(MachineMixin):
        state_machine_name = "myapp.machines.CampaignMachine"
        state_machine_attr = "sm"
        state_field_name = "workflow_step"
"""

from __future__ import annotations

import importlib
from typing import Any

from statefleet.compat.psm._chart import StateChart
from statefleet.compat.psm.exceptions import InvalidDefinition

__all__ = ["MachineMixin", "get_machine_cls"]


def get_machine_cls(name: str) -> type[StateChart]:
    """The ``StateChart`` class named ``module.Class`` (its module is imported if needed)."""
    module_name, _, class_name = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise InvalidDefinition(
            f"cannot find state machine class {name!r}: {exc}", path="state_machine_name"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, StateChart)):
        raise InvalidDefinition(f"{name!r} is not a StateChart class", path="state_machine_name")
    return cls


class MachineMixin:
    """A model that creates its machine on ``__init__`` (see the module docstring)."""

    state_field_name: str = "state"
    """The model's attribute holding the state value."""

    state_machine_name: str | None = None
    """The fully qualified name of the machine class."""

    state_machine_attr: str = "statemachine"
    """The model's attribute holding the machine."""

    bind_events_as_methods: bool = False
    """Give the model the machine's event methods too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.state_machine_name:
            raise InvalidDefinition(
                f"{self.state_machine_name!r} is not a valid state machine name",
                path=f"{type(self).__name__}.state_machine_name",
            )
        machine_cls = get_machine_cls(self.state_machine_name)
        sm = machine_cls(self, state_field=self.state_field_name)
        setattr(self, self.state_machine_attr, sm)
        if self.bind_events_as_methods:
            sm.bind_events_to(self)
