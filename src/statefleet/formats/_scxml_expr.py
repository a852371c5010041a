"""Expressions of SCXML documents: the Python datamodel, safe by default.

Every ``cond``, ``expr``, ``location`` and ``<script>`` of a document is compiled once, when the
document is read, into a closure over the core :class:`~statefleet.core.ActionContext`.

*Safe mode* (the default) parses each expression with :mod:`ast` and accepts only an allowlist
of node types: literals, arithmetic, comparisons, boolean logic, conditional expressions,
attribute and item access, calls, lambdas and comprehensions. Names that start with two
underscores, attributes that start with one, the attributes that reach interpreter internals
(``format``, ``mro``, frame and code attributes) and every Python builtin outside a small safe
set (``open``, ``eval``, ``__import__``, ``getattr``, ``type``...) are refused when the document
is read, with a :class:`~statefleet.ChartDefinitionError` naming the element and its line. The
checked tree is rewritten so every operation that can build a large value or loop goes through
a guard of :mod:`._scxml_limits` (sizes checked before the allocation, a work budget per
evaluation), and evaluated with no builtins but the guarded ones. ``<script>`` needs
``trusted=True``.

In both modes an expression longer than :data:`MAX_EXPRESSION_LENGTH` characters or nested
deeper than :data:`MAX_EXPRESSION_DEPTH` is a definition error (never a ``RecursionError``).

*Trusted mode* compiles expressions and scripts as full Python.

In both modes a few JavaScript spellings used by the W3C suite are rewritten first (outside
string literals): ``true``/``false``/``null``/``undefined``, ``===``/``!==``, ``&&``/``||``/``!``,
``x instanceof Array`` and regular-expression literals ``/re/`` (which become strings; the
``search`` method of ``_event.raw`` takes a regular expression). A syntax error is not a
definition error: like any other failing expression it raises ``error.execution`` when it is
evaluated (SCXML 5.9 and the W3C tests 277, 309, 312 require exactly that).

Expressions see the datamodel (``ctx.context``) and the system variables ``_event``,
``_sessionid``, ``_name``, ``_ioprocessors`` and the predicate ``In(state_id)``; the system
variables are read-only.
"""

from __future__ import annotations

import ast
import builtins
import collections
import copy
import enum
import json
import re
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import defusedxml.ElementTree as SafeET

from statefleet.core import ActionContext, ChartDefinitionError, EventData
from statefleet.formats._patterns import backtracking_risk
from statefleet.formats._scxml_limits import (
    FORBIDDEN_ATTRS,
    GUARDED_METHODS,
    GUARDS,
    SAFE_BUILTINS,
    Frozen,
    bounded,
    check_stored,
)

__all__ = [
    "SCXML_PROCESSOR",
    "SYSTEM_NAMES",
    "AttrDict",
    "Compiler",
    "EventView",
    "JSString",
    "Location",
    "ProcessorType",
    "Where",
    "attach_raw",
    "parse_value_text",
    "runtime_state",
]

SCXML_PROCESSOR = "http://www.w3.org/TR/scxml/#SCXMLEventProcessor"
HTTP_PROCESSOR = "http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor"

#: read-only names every expression sees besides the datamodel
SYSTEM_NAMES = frozenset({"_event", "_sessionid", "_name", "_ioprocessors", "In"})

_FORBIDDEN_NAMES = frozenset(dir(builtins)) - set(SAFE_BUILTINS) - {"True", "False", "None"}
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.LShift,
    ast.RShift,
    ast.BitOr,
    ast.BitXor,
    ast.BitAnd,
    ast.UnaryOp,
    ast.Not,
    ast.Invert,
    ast.UAdd,
    ast.USub,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Is,
    ast.IsNot,
    ast.In,
    ast.NotIn,
    ast.IfExp,
    ast.Dict,
    ast.Set,
    ast.List,
    ast.Tuple,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Call,
    ast.keyword,
    ast.Starred,
    ast.Lambda,
    ast.arguments,
    ast.arg,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.JoinedStr,
    ast.FormattedValue,
)
# helpers the guard transform calls; documents cannot name them
_RESERVED_PREFIX = "_sf_"
#: the longest expression a document may hold (characters)
MAX_EXPRESSION_LENGTH = 100_000
#: the deepest expression a document may hold (nested syntax nodes)
MAX_EXPRESSION_DEPTH = 200


class Where:
    """Where an expression comes from, for error messages: element, attribute, path, line."""

    __slots__ = ("attribute", "element", "line", "path")

    def __init__(self, element: str, attribute: str, path: str, line: int | None) -> None:
        self.element = element
        self.attribute = attribute
        self.path = path
        self.line = line

    @property
    def what(self) -> str:
        """``cond of <transition>``."""
        return f"{self.attribute} of <{self.element}>"

    def __str__(self) -> str:
        at = f" (line {self.line})" if self.line is not None else ""
        return f"{self.what}{at}"


# -- JavaScript spellings ---------------------------------------------------------------------
_JS_WORDS = {"true": "True", "false": "False", "null": "None", "undefined": "None"}
# a "/" after one of these (or at the start) opens a regular-expression literal in JavaScript
_REGEX_OPENERS = frozenset("(,=:[!&|?{};+-*%<>~^")


def js_rewrite(text: str) -> str:
    """Rewrite the JavaScript spellings the W3C suite uses into Python, outside strings."""
    if not any(c in text for c in "tfnu=!&|/i"):
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    last = ""  # last significant character emitted (for regex-literal detection)
    while i < n:
        c = text[i]
        if c in "'\"":
            j = _skip_string(text, i)
            out.append(text[i:j])
            last = c
            i = j
            continue
        if c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word == "instanceof":
                out.append(f"in {_RESERVED_PREFIX}js.")
            else:
                out.append(_JS_WORDS.get(word, word))
            last = "a"
            i = j
            continue
        three, two = text[i : i + 3], text[i : i + 2]
        if three in ("===", "!=="):
            out.append(three[:2])
            i += 3
        elif two == "&&":
            out.append(" and ")
            i += 2
        elif two == "||":
            out.append(" or ")
            i += 2
        elif c == "!" and two != "!=":
            out.append(" not ")
            i += 1
        elif c == "/" and (last == "" or last in _REGEX_OPENERS) and two != "//":
            j = _skip_regex(text, i)
            if j < 0:
                out.append(c)
                i += 1
            else:
                out.append(repr(text[i + 1 : j]))
                i = j + 1
                while i < n and text[i].isalpha():  # flags
                    i += 1
                last = "'"
                continue
        else:
            out.append(c)
            i += 1
        if not c.isspace():
            last = c
    return "".join(out)


def _skip_string(text: str, i: int) -> int:
    q = text[i]
    if text.startswith(q * 3, i):
        end = text.find(q * 3, i + 3)
        return len(text) if end < 0 else end + 3
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == q:
            return j + 1
        j += 1
    return len(text)


def _skip_regex(text: str, i: int) -> int:
    """Index of the closing ``/`` of a regex literal opened at ``i``, or -1."""
    j = i + 1
    in_class = False
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "\n":
            return -1
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            return j if j > i + 1 else -1
        j += 1
    return -1


# -- values the datamodel sees ----------------------------------------------------------------
class AttrDict(dict[str, Any]):
    """A dict whose keys are also attributes (``_event.data.aParam``); nested dicts too."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        if type(value) is dict:
            return AttrDict(value)
        return value


class JSString(str):
    """A string with JavaScript's ``search``, ``indexOf`` and ``includes`` (``_event.raw``)."""

    __slots__ = ()

    def search(self, pattern: str) -> int:
        """Index of the first match of the regular expression ``pattern``, or -1.

        Patterns that can backtrack exponentially (a repeated group that itself repeats, such
        as ``(a+)+``, an ambiguous repeated alternation, a backreference: see
        :func:`~statefleet.formats._patterns.backtracking_risk`) and patterns longer than 1,000
        characters are refused: the raw message comes from whoever sent it.
        """
        if not isinstance(pattern, str) or len(pattern) > 1_000:
            raise ValueError("search() takes a regular expression of at most 1000 characters")
        try:
            risk = backtracking_risk(pattern)
        except re.error as exc:
            raise ValueError(f"search() takes a valid regular expression: {exc}") from exc
        if risk is not None:
            raise ValueError(f"search() refuses {pattern!r}: {risk}")
        m = re.search(pattern, self)
        return m.start() if m else -1

    def indexOf(self, sub: str) -> int:
        """Index of ``sub`` in the string, or -1."""
        return self.find(sub)

    def includes(self, sub: str) -> bool:
        """Whether ``sub`` occurs in the string."""
        return sub in self


_RAW: collections.OrderedDict[int, tuple[EventData, str]] = collections.OrderedDict()
_RAW_MAX = 256


def attach_raw(event: EventData, raw: str) -> None:
    """Remember the raw message an event was made from (``_event.raw``, Basic HTTP)."""
    _RAW[id(event)] = (event, raw)
    while len(_RAW) > _RAW_MAX:
        _RAW.popitem(last=False)


def _raw_of(event: EventData) -> JSString | None:
    found = _RAW.get(id(event))
    if found is not None and found[0] is event:
        return JSString(found[1])
    return None


class ProcessorType(enum.StrEnum):
    """The type URI of an Event I/O Processor as ``_event.origintype`` holds it.

    Its value is the URI (``str()``, ``repr()``, what ``<send typeexpr>`` gets back, what a
    snapshot stores), as SCXML 5.10.1 and C.1 require; it also compares equal to the
    processor's short name (``'scxml'``), the alias ``<send type>`` accepts, which the
    Python-datamodel W3C test 352 checks. (A string enum, so snapshots encode it as the URI.)
    """

    SCXML = SCXML_PROCESSOR

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other) or (
            isinstance(other, str) and _PROCESSOR_ALIASES.get(self.value) == other
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        return repr(self.value)


_PROCESSOR_ALIASES = {SCXML_PROCESSOR: "scxml"}


class EventView(Frozen):
    """SCXML's ``_event`` as expressions see it: the event's fields, read-only.

    ``data`` is wrapped so dict keys read as attributes; ``origintype`` of events sent by the
    SCXML Event I/O Processor is its URI (a :class:`ProcessorType`: it also equals ``'scxml'``);
    ``raw`` is the raw message of Basic HTTP events.
    """

    __slots__ = ("data", "invokeid", "name", "origin", "origintype", "raw", "sendid", "type")
    data: Any
    invokeid: str | None
    name: str
    origin: str | None
    origintype: str | None
    raw: JSString | None
    sendid: str | None
    type: str

    def __init__(self, ev: EventData) -> None:
        data = ev.data
        for name, value in (
            ("name", ev.name),
            ("type", ev.type),
            ("sendid", ev.sendid),
            ("origin", ev.origin),
            (
                "origintype",
                ProcessorType.SCXML if ev.origintype == SCXML_PROCESSOR else ev.origintype,
            ),
            ("invokeid", ev.invokeid),
            ("data", AttrDict(data) if type(data) is dict else data),
            ("raw", _raw_of(ev)),
        ):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"_event({self.name!r}, data={self.data!r})"


_XML_SPACE = re.compile(r"[ \t\r\n]+")


def parse_value_text(text: str, *, normalize: bool = True) -> Any:
    """The value of inline content (``<data>``, ``<assign>``, ``<content>``, a ``src`` file).

    JSON first (``[1, 2]``, ``{"a": 1}``, ``21``), then Python literals, then XML (an
    ``Element``), else the text itself, space-normalized (leading and trailing whitespace
    stripped, inner runs collapsed to one space, as SCXML's data models do) unless
    ``normalize`` is false (then only stripped).
    """
    s = text.strip()
    if not s:
        return s
    try:
        return json.loads(s)
    except ValueError:
        pass
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if s.startswith("<"):
        try:
            return SafeET.fromstring(s)
        except Exception:  # not XML after all: the text is the value
            pass
    return _XML_SPACE.sub(" ", s) if normalize else s


# -- per-instance runtime state ---------------------------------------------------------------
class _Runtime:
    """What the reader keeps per chart instance (in ``ctx.extra``)."""

    __slots__ = ("event", "http_owner", "invoke_src", "scope", "view")

    def __init__(self) -> None:
        self.scope: _Scope | None = None
        self.event: EventData | None = None
        self.view: EventView | None = None
        self.invoke_src: Any = None
        self.http_owner: Any = None


def runtime_state(ctx: ActionContext) -> _Runtime:
    """The reader's per-instance state for ``ctx`` (kept in the interpreter's ``extra``)."""
    extra = getattr(ctx, "extra", None)
    if extra is None:
        extra = {}
        try:
            ctx.extra = extra  # type: ignore[attr-defined]
        except AttributeError:  # a context without the slot: state lives for this call only
            return _Runtime()
    rt = extra.get("scxml")
    if rt is None:
        rt = extra["scxml"] = _Runtime()
    return rt


def _event_view(ctx: ActionContext, rt: _Runtime) -> EventView | None:
    ev = ctx.event
    if ev is None:
        return None
    if rt.event is not ev:
        rt.event = ev
        rt.view = EventView(ev)
    return rt.view


class _Scope(dict[str, Any]):
    """The namespace expressions run in: system variables, then the datamodel, then builtins.

    Stores go to the datamodel (``<script>`` in trusted mode); system variables are read-only.
    """

    __slots__ = ("compiler", "ctx", "rt")

    def __init__(self, ctx: ActionContext, rt: _Runtime, compiler: Compiler) -> None:
        super().__init__(compiler.base)
        self.ctx = ctx
        self.rt = rt
        self.compiler = compiler

    def __missing__(self, key: str) -> Any:
        ctx = self.ctx
        if key in SYSTEM_NAMES:
            if key == "_event":
                return _event_view(ctx, self.rt)
            if key == "_sessionid":
                return ctx.session_id
            if key == "_name":
                return self.compiler.name
            if key == "In":
                return ctx.in_state
            return self.compiler.ioprocessors(ctx)
        return ctx.context[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key.startswith("__"):
            super().__setitem__(key, value)
            return
        if key in SYSTEM_NAMES:
            raise ValueError(f"cannot assign to the system variable {key!r}")
        self.ctx.context[key] = value

    def __delitem__(self, key: str) -> None:
        del self.ctx.context[key]


class _IsA(Frozen):
    """A JavaScript type for ``instanceof``: ``value in Array``."""

    __slots__ = ("_types",)
    _types: tuple[type, ...]

    def __init__(self, *types: type) -> None:
        object.__setattr__(self, "_types", types)

    def __contains__(self, value: Any) -> bool:
        return isinstance(value, self._types)


class _JSTypes(Frozen):
    """``x instanceof Array`` is rewritten to ``x in _sf_js.Array``. One read-only instance
    serves every document (a document cannot change what another one sees)."""

    __slots__ = ("Array", "Number", "Object", "String")
    Array: _IsA
    Number: _IsA
    Object: _IsA
    String: _IsA

    def __init__(self) -> None:
        for name, kinds in (
            ("Array", (list, tuple)),
            ("Object", (dict,)),
            ("String", (str,)),
            ("Number", (int, float)),
        ):
            object.__setattr__(self, name, _IsA(*kinds))


_JS = _JSTypes()
_SAFE_BASE: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, **GUARDS, "_sf_js": _JS}
_TRUSTED_BASE: dict[str, Any] = {"__builtins__": builtins, "_sf_js": _JS}
# objects a safe-mode <assign> may not change attributes of: they are shared (classes,
# functions, modules, the read-only helpers) or read-only (``_event``)
_SHARED = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
    Frozen,
)


def _number(*nodes: ast.expr) -> bool:
    """Whether one of ``nodes`` is a number literal (``x + 1``)."""
    return any(
        isinstance(n, ast.Constant) and type(n.value) in (int, float, complex) for n in nodes
    )


def _call(fn: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(fn, ast.Load()), list(args), [])


class _Guard(ast.NodeTransformer):
    """Route every operation that can build a large value or loop through a guard of
    :mod:`._scxml_limits`: ``**``, ``<<``, ``*``, ``+``, ``%``, f-string fields, the methods
    of :data:`GUARDED_METHODS`, comprehensions and ``*``/``**`` unpacking."""

    _FNS: dict[type[ast.operator], str] = {
        ast.Pow: "_sf_pow",
        ast.LShift: "_sf_lshift",
        ast.Mult: "_sf_mul",
        ast.Add: "_sf_add",
        ast.Mod: "_sf_mod",
    }

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        fn = self._FNS.get(type(node.op))
        if fn is None or (type(node.op) is ast.Add and _number(node.left, node.right)):
            return node  # ``n + 1`` cannot build a sequence: no guard needed
        return ast.copy_location(_call(fn, node.left, node.right), node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) != 1 or not isinstance(node.ops[0], ast.In | ast.NotIn):
            return node
        found: ast.expr = _call("_sf_in", node.left, node.comparators[0])
        if isinstance(node.ops[0], ast.NotIn):
            found = ast.UnaryOp(ast.Not(), found)
        return ast.copy_location(found, node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if node.attr not in GUARDED_METHODS or not isinstance(node.ctx, ast.Load):
            return node
        return ast.copy_location(_call("_sf_attr", node.value, ast.Constant(node.attr)), node)

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = _call("_sf_iter", node.iter)
        return node

    def _charge_result(self, node: ast.AST) -> ast.AST:
        """Charge what a comprehension or lambda produces (``_sf_elt``)."""
        self.generic_visit(node)
        field = {ast.DictComp: "value", ast.Lambda: "body"}.get(type(node), "elt")
        setattr(node, field, _call("_sf_elt", getattr(node, field)))
        return node

    visit_ListComp = visit_SetComp = visit_GeneratorExp = _charge_result
    visit_DictComp = visit_Lambda = _charge_result

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        self.generic_visit(node)
        node.value = _call("_sf_star", node.value)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        node.values = [
            _call("_sf_star", v) if k is None else v
            for k, v in zip(node.keys, node.values, strict=True)
        ]
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        spec: ast.expr = node.format_spec if node.format_spec is not None else ast.Constant("")
        formatted = _call("_sf_format", node.value, ast.Constant(node.conversion), spec)
        return ast.copy_location(ast.FormattedValue(formatted, -1, None), node)


class Location:
    """A compiled ``location`` (``Var1``, ``foo.bar``, ``a['k']``): assign and read it."""

    def __init__(
        self,
        compiler: Compiler,
        text: str,
        where: Where,
    ) -> None:
        self.text = text.strip()
        self.where = where
        self.safe = not compiler.trusted
        #: the variable the location starts from (``a`` of ``a.b['c']``)
        self.root: str | None = None
        self.name: str | None = None
        self.container: Callable[[ActionContext], Any] | None = None
        self.key: Callable[[ActionContext], Any] | None = None
        self.attr: str | None = None
        self.error: str | None = None
        self.read = compiler.expr(text, where)
        try:
            tree = ast.parse(js_rewrite(self.text), mode="eval").body
        except (SyntaxError, RecursionError, MemoryError):
            self.error = f"{self.text!r} is not a valid location"
            return
        base = tree
        while isinstance(base, ast.Attribute | ast.Subscript):
            base = base.value
        self.root = base.id if isinstance(base, ast.Name) else None
        if isinstance(tree, ast.Name):
            self.name = tree.id
        elif isinstance(tree, ast.Attribute):
            self.container = compiler.node(tree.value, where)
            self.attr = tree.attr
        elif isinstance(tree, ast.Subscript):
            self.container = compiler.node(tree.value, where)
            self.key = compiler.node(tree.slice, where)
        else:
            self.error = f"{self.text!r} is not a valid location"

    def assign(self, ctx: ActionContext, value: Any, *, create: bool = False) -> None:
        """Store ``value``; the top-level variable must exist unless ``create``."""
        if self.error is not None:
            raise ValueError(f"{self.where}: {self.error}")
        if type(value) is JSString:  # a plain string in the datamodel (snapshots encode it)
            value = str(value)
        if self.safe:
            check_stored(value)
        name = self.name
        if name is not None:
            if name in SYSTEM_NAMES:
                raise ValueError(f"cannot assign to the system variable {name!r}")
            if not create and name not in ctx.context:
                raise NameError(f"{self.where}: {name!r} is not declared in the datamodel")
            ctx.context[name] = value
            return
        root = self.root
        if root is not None and (root in SYSTEM_NAMES or root.startswith(_RESERVED_PREFIX)):
            raise ValueError(f"{self.where}: {root!r} is read-only: cannot assign {self.text!r}")
        assert self.container is not None
        obj = self.container(ctx)
        if self.key is not None:
            obj[self.key(ctx)] = value
        elif isinstance(obj, dict):
            obj[self.attr] = value
        elif self.safe and isinstance(obj, _SHARED):
            raise ValueError(
                f"{self.where}: cannot assign {self.text!r}: a {type(obj).__name__} is shared"
                " by every document (safe mode)"
            )
        else:
            setattr(obj, self.attr or "", value)


class Compiler:
    """Compiles expressions, locations and scripts for one document (safe or trusted)."""

    def __init__(
        self, *, trusted: bool, name: str, ioprocessors: Callable[[ActionContext], Any]
    ) -> None:
        self.trusted = trusted
        self.name = name
        #: computes ``_ioprocessors`` for an instance
        self.ioprocessors = ioprocessors
        self.base: Mapping[str, Any] = _TRUSTED_BASE if trusted else _SAFE_BASE

    # -- compiling --------------------------------------------------------------------------
    def expr(self, text: str, where: Where) -> Callable[[ActionContext], Any]:
        """A value expression (also used for ``cond``): ``fn(ctx) -> value``."""
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise _too_big(where, text, f"longer than {MAX_EXPRESSION_LENGTH} characters")
        src = js_rewrite(text).strip()
        try:
            tree = ast.parse(src, mode="eval")
        except SyntaxError as exc:
            return _deferred(exc, where, text)
        except (RecursionError, MemoryError):
            raise _too_big(where, text, "too deeply nested") from None
        return self._finish(tree, where, text)

    def node(self, node: ast.expr, where: Where) -> Callable[[ActionContext], Any]:
        """Compile a sub-expression of a location."""
        tree = ast.Expression(body=node)
        ast.fix_missing_locations(tree)
        return self._finish(tree, where, ast.unparse(node))

    def location(self, text: str, where: Where) -> Location:
        """A ``location`` attribute (``<assign>``, ``<foreach item>``, ``idlocation``)."""
        return Location(self, text, where)

    def script(self, text: str, where: Where) -> Callable[[ActionContext], None]:
        """A ``<script>`` body: trusted mode only."""
        if not self.trusted:
            raise ChartDefinitionError(
                "<script> runs arbitrary Python: refused in safe mode (load the document"
                " with trusted=True to allow it)",
                path=where.path,
                line=where.line,
            )
        src = _dedent(text)
        try:
            code = compile(src, f"<scxml script line {where.line}>", "exec")
        except (RecursionError, MemoryError):
            raise _too_big(where, text, "too deeply nested") from None
        except SyntaxError as exc:
            err = exc

            def broken(ctx: ActionContext) -> None:
                raise SyntaxError(f"{where}: {err.msg}")

            return broken
        scope_of = self.scope

        def run_script(ctx: ActionContext) -> None:
            exec(code, scope_of(ctx))

        return run_script

    def _finish(
        self, tree: ast.Expression, where: Where, text: str
    ) -> Callable[[ActionContext], Any]:
        if _depth(tree) > MAX_EXPRESSION_DEPTH:
            raise _too_big(where, text, f"nested more than {MAX_EXPRESSION_DEPTH} levels deep")
        if not self.trusted:
            _check_safe(tree, where, text)
            tree = _Guard().visit(tree)
            ast.fix_missing_locations(tree)
        try:
            code = compile(tree, f"<scxml {where.attribute} line {where.line}>", "eval")
        except (RecursionError, MemoryError):
            raise _too_big(where, text, "too deeply nested") from None
        scope_of = self.scope

        def evaluate(ctx: ActionContext) -> Any:
            return eval(code, scope_of(ctx))

        evaluate.__qualname__ = f"scxml_expr[{text!r}]"
        return evaluate if self.trusted else bounded(evaluate)

    # -- running ----------------------------------------------------------------------------
    def scope(self, ctx: ActionContext) -> _Scope:
        """The namespace expressions of this document evaluate in, for ``ctx``."""
        rt = runtime_state(ctx)
        scope = rt.scope
        if scope is None or scope.ctx is not ctx or scope.compiler is not self:
            scope = rt.scope = _Scope(ctx, rt, self)
        return scope


def _too_big(where: Where, text: str, why: str) -> ChartDefinitionError:
    shown = text.strip()
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ChartDefinitionError(
        f"{where.what}: the expression {shown!r} is {why}", path=where.path, line=where.line
    )


def _depth(tree: ast.AST) -> int:
    """How deeply the nodes of ``tree`` nest (iteratively: a deep tree must not recurse)."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, d = stack.pop()
        if d > deepest:
            deepest = d
            if d > MAX_EXPRESSION_DEPTH:
                return d
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _deferred(exc: SyntaxError, where: Where, text: str) -> Callable[[ActionContext], Any]:
    message = f"{where}: invalid expression {text.strip()!r}: {exc.msg}"

    def invalid(ctx: ActionContext) -> Any:
        raise SyntaxError(message)

    return invalid


def _dedent(text: str) -> str:
    lines = text.strip("\n").splitlines()
    if not lines:
        return ""
    # the first line may sit right after the tag; indent the rest relative to the least
    # indented of them
    rest = [ln for ln in lines[1:] if ln.strip()]
    indent = min((len(ln) - len(ln.lstrip()) for ln in rest), default=0)
    first = lines[0].strip()
    body = [ln[indent:] if len(ln) >= indent else ln.strip() for ln in lines[1:]]
    if first.endswith(":") and body and not body[0].startswith((" ", "\t")):
        body = ["    " + ln for ln in body]
    return "\n".join([first, *body])


def _check_safe(tree: ast.AST, where: Where, text: str) -> None:
    for node in ast.walk(tree):
        problem: str | None = None
        if not isinstance(node, _ALLOWED_NODES):
            problem = f"{type(node).__name__} is not allowed"
        elif isinstance(node, ast.Name) and _bad_name(node.id):
            problem = f"the name {node.id!r} is not available"
        elif isinstance(node, ast.arg) and _bad_name(node.arg):
            problem = f"the name {node.arg!r} is not available"
        elif isinstance(node, ast.Attribute) and (
            node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRS
        ):
            problem = f"the attribute {node.attr!r} is not accessible"
        if problem is not None:
            raise ChartDefinitionError(
                f"{where.what}: unsafe expression {text.strip()!r}: {problem} in safe mode"
                " (load the document with trusted=True for full Python)",
                path=where.path,
                line=where.line,
            )


def _bad_name(name: str) -> bool:
    if name == "_sf_js":  # what ``instanceof`` is rewritten to
        return False
    return name.startswith(("__", _RESERVED_PREFIX)) or name in _FORBIDDEN_NAMES


def copy_value(value: Any) -> Any:
    """A private copy of an initial value (so instances never share mutable data)."""
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    return copy.deepcopy(value)


def iter_items(value: Any) -> Iterator[Any]:
    """The items ``<foreach>`` iterates: a shallow copy of a list-like collection."""
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise TypeError(f"<foreach> needs an iterable collection, not {type(value).__name__}")
    if isinstance(value, Mapping):
        return iter(list(value.values()))
    return iter(list(value))
