"""pystator's declarative guards: checks (``{check: {field: qty, op: gte, value: 10}}``, a
condition on one context field) and composites (``allOf``, ``anyOf``, ``not``), written in
the YAML instead of registered functions."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from statefleet.core import ChartDefinitionError
from statefleet.formats._patterns import backtracking_risk
from statefleet.formats._yaml import NAME_RE, ExprGuard, UnboundNameError

__all__ = ["CHECK_OPS", "COMPOSITES", "CheckSpec", "CompositeGuard", "GuardsWithChecks"]


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """An ordering comparison: false when the field is missing or the types do not order."""

    def run(value: Any, expected: Any) -> bool:
        if value is None:
            return False
        try:
            return compare(value, expected)
        except TypeError:
            return False

    return run


#: operator -> test(field value, expected); as pystator: a missing field is None
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, e: bool(v == e),
    "neq": lambda v, e: bool(v != e),
    "gt": _ordered(lambda v, e: bool(v > e)),
    "gte": _ordered(lambda v, e: bool(v >= e)),
    "lt": _ordered(lambda v, e: bool(v < e)),
    "lte": _ordered(lambda v, e: bool(v <= e)),
    "in": lambda v, e: v in e,
    "not_in": lambda v, e: v not in e,
    "is_set": lambda v, e: v is not None,
    "is_null": lambda v, e: v is None,
    "contains": lambda v, e: v is not None and str(e) in str(v),
    "starts_with": lambda v, e: v is not None and str(v).startswith(str(e)),
    "ends_with": lambda v, e: v is not None and str(v).endswith(str(e)),
    "matches": lambda v, e: v is not None and e.search(str(v)) is not None,
}

#: the longest ``matches`` pattern, in characters (as for inline guard expressions)
MAX_PATTERN_CHARS = 2000


#: the operators a check may use
CHECK_OPS = frozenset(_OPS)
_LISTS = ("in", "not_in")
_UNARY = ("is_set", "is_null")


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One field check: ``field`` (a context key), ``op`` (one of :data:`CHECK_OPS`) and the
    ``value`` it compares with, or the ``values`` of ``in``/``not_in``. A missing field
    reads as None: ``is_null`` and ``neq`` pass, ordering and string operators fail."""

    field: str
    op: str
    value: Any = None
    values: tuple[Any, ...] = ()
    _pattern: Any = dc_field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field:
            raise ChartDefinitionError(
                f"a check's field is a context key, got {self.field!r}", path="check.field"
            )
        if self.op not in _OPS:
            raise ChartDefinitionError(
                f"unknown check operator {self.op!r}: one of {', '.join(sorted(_OPS))}",
                path="check.op",
            )
        if self.op == "matches":
            if len(str(self.value)) > MAX_PATTERN_CHARS:
                raise ChartDefinitionError(
                    f"a 'matches' pattern is at most {MAX_PATTERN_CHARS} characters",
                    path="check.value",
                )
            try:
                object.__setattr__(self, "_pattern", re.compile(str(self.value)))
            except re.error as exc:
                raise ChartDefinitionError(
                    f"a 'matches' check needs a valid regular expression: {exc}",
                    path="check.value",
                ) from exc
            risk = backtracking_risk(str(self.value))
            if risk is not None:
                raise ChartDefinitionError(
                    f"a 'matches' pattern may take exponential time on some inputs ({risk}):"
                    " rewrite it without that",
                    path="check.value",
                )

    @classmethod
    def from_config(cls, config: Any) -> CheckSpec:
        """The check of a YAML ``check:`` mapping (``ChartDefinitionError`` if malformed)."""
        if not isinstance(config, Mapping):
            raise ChartDefinitionError(
                f"a check is a mapping {{field, op, value}}, got {type(config).__name__}",
                path="check",
            )
        unknown = set(config) - {"field", "op", "value", "values"}
        if unknown:
            raise ChartDefinitionError(
                f"unknown key(s) in a check: {', '.join(sorted(map(str, unknown)))}",
                path="check",
            )
        op = config.get("op")
        values = config.get("values")
        if op in _LISTS:
            if values is None and isinstance(config.get("value"), list | tuple):
                values = config["value"]
            if not isinstance(values, list | tuple):
                raise ChartDefinitionError(
                    f"an {op!r} check needs a list of values", path="check.values"
                )
        elif op not in _UNARY and "value" not in config:
            raise ChartDefinitionError(f"an {op!r} check needs a value", path="check.value")
        return cls(config.get("field"), op, config.get("value"), tuple(values or ()))  # type: ignore[arg-type]

    def evaluate(self, context: Mapping[str, Any]) -> bool:
        """Does ``context`` pass this check?"""
        found = context.get(self.field)
        if self.op in _LISTS:
            return _OPS[self.op](found, self.values)
        if self.op == "matches":
            return _OPS[self.op](found, self._pattern)
        return _OPS[self.op](found, self.value)

    def __call__(self, context: Mapping[str, Any]) -> bool:
        return self.evaluate(context)

    def to_config(self) -> dict[str, Any]:
        """The YAML form."""
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op in _LISTS:
            out["values"] = list(self.values)
        elif self.op not in _UNARY:
            out["value"] = self.value
        return out

    @property
    def label(self) -> str:
        """How the check is named in results: ``check:field op``."""
        return f"check:{self.field} {self.op}"


#: the keys of pystator's composite guards, and what each combines
COMPOSITES = ("allOf", "anyOf", "not")


@dataclass(frozen=True, slots=True)
class CompositeGuard:
    """pystator's composite guard: ``{allOf: [...]}`` (every child passes), ``{anyOf:
    [...]}`` (one does), ``{not: child}``. A child is a guard name, an inline expression
    (``"expr: ..."`` or ``{expr: ...}``), a ``{check: ...}`` or another composite; children
    are evaluated in order and stop as soon as the answer is known."""

    kind: str
    children: tuple[Any, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CompositeGuard:
        """The composite of a YAML guard mapping with one of :data:`COMPOSITES`
        (``ChartDefinitionError`` naming what is wrong)."""
        if len(config) != 1 or next(iter(config)) not in COMPOSITES:
            raise ChartDefinitionError(
                f"a composite guard is one key of {', '.join(COMPOSITES)}", path="guard"
            )
        kind, value = next(iter(config.items()))
        if kind == "not":
            return cls(kind, (_leaf(value),))
        if not isinstance(value, list) or not value:
            raise ChartDefinitionError(f"{kind} needs a non-empty list of guards", path=kind)
        return cls(kind, tuple(_leaf(v) for v in value))

    def names(self) -> set[str]:
        """The registered guards this composite names, nested ones included."""
        out: set[str] = set()
        for c in self.children:
            if isinstance(c, str):
                out.add(c)
            elif isinstance(c, CompositeGuard):
                out |= c.names()
        return out

    def evaluate(self, context: Mapping[str, Any], lookup: Callable[[str], Any]) -> bool:
        """Evaluate with ``lookup(name)`` giving a registered guard's function (None: the
        name is unbound, :class:`~statefleet.formats.UnboundNameError`)."""
        results = (_run(c, context, lookup) for c in self.children)
        if self.kind == "allOf":
            return all(results)
        if self.kind == "anyOf":
            return any(results)
        return not next(results)


def _leaf(config: Any) -> Any:
    """A composite's child: a guard name (str), an :class:`ExprGuard`, a :class:`CheckSpec`
    or a :class:`CompositeGuard`."""
    if isinstance(config, str):
        if config.startswith("expr:"):
            return _expr(config[len("expr:") :].strip())
        if not NAME_RE.match(config):
            raise ChartDefinitionError(
                f"guard name {config!r} is invalid: use lowercase a-z, digits and underscores",
                path="guard",
            )
        return config
    if isinstance(config, Mapping) and set(config) == {"expr"}:
        return _expr(config["expr"])
    if isinstance(config, Mapping) and set(config) == {"check"}:
        return CheckSpec.from_config(config["check"])
    if isinstance(config, Mapping):
        return CompositeGuard.from_config(config)
    raise ChartDefinitionError(f"invalid guard in a composite: {config!r}", path="guard")


def _expr(source: Any) -> ExprGuard:
    try:
        return ExprGuard(str(source))
    except (SyntaxError, ValueError) as exc:
        raise ChartDefinitionError(
            f"invalid guard expression {source!r}: {exc}", path="expr"
        ) from exc


def _run(child: Any, context: Mapping[str, Any], lookup: Callable[[str], Any]) -> bool:
    if isinstance(child, str):
        fn = lookup(child)
        if fn is None:
            raise UnboundNameError("guard", child)
        return bool(fn(context))
    if isinstance(child, ExprGuard):
        return child.check(context)
    if isinstance(child, CompositeGuard):
        return child.evaluate(context, lookup)
    return bool(child(context))


class GuardsWithChecks(Mapping[str, Callable[..., Any]]):
    """The guards a chart looks names up in: its ``check:`` guards (``_check_<n>``), then the
    bound registry (held by reference: later registrations are seen, and a non-strict
    registry's passing guard for unknown names still applies)."""

    __slots__ = ("checks", "registry")

    def __init__(
        self,
        checks: Mapping[str, CheckSpec | CompositeGuard],
        registry: Mapping[str, Callable[..., Any]],
    ) -> None:
        self.checks = checks
        self.registry = registry

    def get(self, name: str, default: Any = None) -> Any:
        check = self.checks.get(name)
        if isinstance(check, CompositeGuard):
            return functools.partial(check.evaluate, lookup=self.registry.get)
        return check if check is not None else self.registry.get(name, default)

    def __getitem__(self, name: str) -> Callable[..., Any]:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        yield from self.checks
        yield from (n for n in self.registry if n not in self.checks)

    def __len__(self) -> int:
        return len(self.checks) + sum(1 for n in self.registry if n not in self.checks)
