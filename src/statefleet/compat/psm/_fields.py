"""Model state of a class chart: annotated fields whose values live in the datamodel.

python-statemachine keeps domain data in instance attributes, which a snapshot cannot see.
A chart class declares the data that must persist as annotated class attributes::

    class OrderChart(StateChart):
        order_id: str = ""
        amount: int = 0
        tx: str | None = None

Each becomes a :class:`Field`: reading or assigning ``self.amount`` reads or writes
``self.context["amount"]``, so the snapshot carries it (``snapshot()``, a store's commit)
and restoring brings it back on a fresh instance. Values must be plain data (what msgpack and
JSON encode). ``ClassVar`` annotations, private names and annotated states, events and
methods are not fields. Assignments made in ``__init__`` before ``super().__init__()`` become
the initial datamodel (a ``context=`` given by the caller wins); on restore, the snapshot's
values win.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

__all__ = ["Field", "declare_fields"]

_MISSING: Any = object()
_IMMUTABLE = (str, int, float, bool, bytes, type(None), tuple, frozenset)


def _datamodel(instance: Any) -> dict[str, Any]:
    """The datamodel an instance's fields live in (values assigned before the session exists
    wait in ``_sf_pending`` and seed its initial datamodel)."""
    try:
        context: dict[str, Any] = instance._m.context
    except AttributeError:
        pending: dict[str, Any] | None = getattr(instance, "_sf_pending", None)
        if pending is None:
            # (not through ``__dict__``: see ``_take`` in ``_chart``)
            pending = instance._sf_pending = {}
        return pending
    return context


class Field:
    """A persisted attribute of a chart class (see the module docstring)."""

    __slots__ = ("default", "name")

    def __init__(self, name: str, default: Any = _MISSING) -> None:
        self.name = name
        self.default = default

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self if self.default is _MISSING else self.default
        data = _datamodel(instance)
        try:
            return data[self.name]
        except KeyError:
            pass
        if self.default is _MISSING:
            raise AttributeError(
                f"{type(instance).__name__}.{self.name} has no value yet (declare a default)"
            )
        value = self.default
        if not isinstance(value, _IMMUTABLE):
            # a mutable default is copied and stored, so changing it in place persists
            value = data[self.name] = copy.deepcopy(value)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        _datamodel(instance)[self.name] = value

    def __delete__(self, instance: Any) -> None:
        _datamodel(instance).pop(self.name, None)

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def declare_fields(cls: type, reserved: set[str], skip: tuple[type, ...]) -> dict[str, Field]:
    """Turn ``cls``'s own annotated data attributes into :class:`Field` descriptors."""
    fields: dict[str, Field] = {}
    for name, annotation in inspect.get_annotations(cls).items():
        if name.startswith("_") or name in reserved or _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, Field):
            fields[name] = value
            continue
        if value is not _MISSING and (
            isinstance(value, skip) or callable(value) or hasattr(value, "__get__")
        ):
            continue  # an annotated state, event, method or descriptor
        field = Field(name, value)
        setattr(cls, name, field)
        fields[name] = field
    return fields
