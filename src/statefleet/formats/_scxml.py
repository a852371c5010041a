"""The SCXML reader: W3C SCXML documents compiled to core charts, safe by default.

``from_scxml(path_or_text)`` parses the document with defusedxml (keeping each element's
source line), builds a core :class:`~statefleet.ChartSpec` and compiles it. States, parallel
states, finals, ``<initial>``, history, transitions, ``onentry``/``onexit``, the datamodel,
``<invoke>`` and ``<donedata>`` map one to one onto the core's specs; executable content
(``raise``, ``send``, ``log``, ``assign``, ``if``/``elseif``/``else``, ``foreach``, ``cancel``,
``script``) becomes closures over the core :class:`~statefleet.ActionContext`, with the
datamodel in ``ctx.context``. Expressions are compiled by :mod:`._scxml_expr` (safe mode unless
``trusted=True``, bounded by :mod:`._scxml_limits`); the files a document may read are decided
by :mod:`._scxml_files` (nothing in safe mode unless the caller grants a folder or a loader) and
the Basic HTTP targets it may send to by :class:`.basichttp.Allowlist`. What the caller grants
(trusted, files, HTTP targets) passes to every document a document invokes.

Errors follow SCXML: a failing expression or assignment raises ``error.execution`` (the block
stops), an invalid ``<send>`` type or target syntax raises ``error.execution`` carrying the send
id, and a target that cannot be reached (an unknown ``#_scxml_<sessionid>``, a Basic HTTP send
without a target) raises ``error.communication`` on the internal queue right away.
"""

from __future__ import annotations

import itertools
import os
import re
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET

from statefleet.core import (
    Action,
    ActionContext,
    Chart,
    ChartDefinitionError,
    ChartSpec,
    DataSpec,
    InvokeSpec,
    StateSpec,
    TransitionSpec,
    compile_chart,
    parse_descriptors,
)
from statefleet.formats import basichttp as http
from statefleet.formats._input import shown
from statefleet.formats._resolve import parse_duration
from statefleet.formats._scxml_expr import (
    HTTP_PROCESSOR,
    SCXML_PROCESSOR,
    AttrDict,
    Compiler,
    Location,
    Where,
    copy_value,
    iter_items,
    parse_value_text,
    runtime_state,
)
from statefleet.formats._scxml_files import (
    MAX_DOCUMENT_BYTES,
    Loader,
    SourceError,
    Sources,
    read_regular_file,
    text_of,
)
from statefleet.formats._scxml_limits import bounded, charge, stored

__all__ = ["SCXML_NS", "from_scxml"]

SCXML_NS = "http://www.w3.org/2005/07/scxml"
_NS_PREFIX = "{" + SCXML_NS + "}"
_STATE_TAGS = frozenset({"state", "parallel", "final", "history"})
_SCXML_TYPES = frozenset({"", "scxml", SCXML_PROCESSOR})
_HTTP_TYPES = frozenset({"basichttp", HTTP_PROCESSOR})
_INVOKE_TYPES = frozenset(
    {"", "scxml", "http://www.w3.org/TR/scxml/", "http://www.w3.org/TR/scxml", SCXML_PROCESSOR}
)
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")

# live SCXML sessions by session id, so `#_scxml_<id>` targets are checked when sent
_SESSIONS: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def from_scxml(
    path_or_text: str | os.PathLike[str],
    *,
    trusted: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
    loader: Loader | None = None,
    allow_http: Iterable[str] | None = None,
) -> Chart:
    """Read a W3C SCXML document (a path or the XML text) and compile it to a :class:`Chart`.

    Safe by default: the XML is parsed with defusedxml and expressions run in a restricted
    evaluator (literals, arithmetic, comparisons, boolean logic, attribute/item access, calls
    on data, lambdas, comprehensions, ``In()``, ``_event``); ``<script>`` or an expression that
    needs more raises :class:`~statefleet.ChartDefinitionError` naming the element and line.
    ``trusted=True`` allows full Python.

    Files named by ``src`` (``<data>``, ``<content>``, ``<invoke>`` and its ``srcexpr``,
    ``<script>``): in safe mode none is read unless the caller grants a folder (``base_dir``:
    relative paths inside it only) or a ``loader`` (called with each reference as written,
    returning its text or bytes). With ``trusted=True`` references resolve against
    ``base_dir``, else the document's folder (the working directory for text), and may name any
    file. Only regular files are read, up to a size cap.

    Basic HTTP ``<send>``: in safe mode a document sends nowhere unless ``allow_http`` lists
    target origins (``https://api.example.com``), URLs, or
    :data:`statefleet.formats.basichttp.OWN_SERVER` (this process's own server, so other
    sessions); any other target raises ``error.communication``. A trusted document may send
    anywhere unless ``allow_http`` is given. See ``docs/scxml.md``, "Security model".
    """
    if loader is not None and not callable(loader):
        raise ChartDefinitionError(f"loader must be callable, not {type(loader).__name__}")
    try:
        allow = http.Allowlist(allow_http, trusted=trusted)
    except ValueError as exc:
        raise ChartDefinitionError(f"allow_http: {exc}") from None
    text, source, sources = _read_source(path_or_text, trusted, base_dir, loader)
    root = _parse(text, source)
    stack = () if source == "<string>" else (str(Path(source).resolve()),)
    doc = _Document(
        root,
        source=source,
        grants=_Grants(trusted, sources, allow),
        stack=stack,
        invoked=False,
    )
    return compile_chart(doc.build())


# -- reading ----------------------------------------------------------------------------------
def _read_source(
    path_or_text: str | os.PathLike[str],
    trusted: bool,
    base_dir: str | os.PathLike[str] | None,
    loader: Loader | None,
) -> tuple[str | bytes, str, Sources]:
    root = Path(base_dir) if base_dir is not None and not trusted else None
    if base_dir is not None and not Path(base_dir).is_dir():
        raise ChartDefinitionError(f"base_dir {str(base_dir)!r} is not a folder")
    if isinstance(path_or_text, str) and path_or_text.lstrip("\ufeff \t\r\n").startswith("<"):
        here = Path(base_dir) if base_dir is not None else (Path.cwd() if trusted else None)
        sources = Sources(trusted=trusted, root=root, here=here, loader=loader)
        return path_or_text, "<string>", sources
    if not isinstance(path_or_text, str | os.PathLike):
        raise ChartDefinitionError(
            f"from_scxml expects a path or SCXML text, not {type(path_or_text).__name__}"
        )
    path = Path(path_or_text)
    try:
        text = read_regular_file(path, MAX_DOCUMENT_BYTES)
    except (SourceError, ValueError) as exc:
        raise ChartDefinitionError(
            f"cannot read SCXML document {str(path)!r}: {exc}", path=str(path)
        ) from None
    if trusted:
        here = Path(base_dir) if base_dir is not None else path.resolve().parent
    else:
        here = path.resolve().parent
    sources = Sources(trusted=trusted, root=root, here=here, loader=loader)
    return text, str(path), sources


class _LineElement(ET.Element):
    """An element that remembers the line it starts on."""

    sourceline: int | None = None


class _LineBuilder(ET.TreeBuilder):
    def __init__(self) -> None:
        super().__init__(element_factory=_LineElement)
        self.parser: Any = None

    def start(self, tag: Any, attrs: Any) -> ET.Element:
        elem = super().start(tag, attrs)
        if self.parser is not None:
            elem.sourceline = self.parser.parser.CurrentLineNumber  # type: ignore[attr-defined]
        return elem


def _parse(text: str | bytes, source: str) -> ET.Element:
    """Parse a document: text, or bytes in the encoding its XML declaration names (UTF-8 by
    default); at most :data:`MAX_NESTING` elements deep."""
    builder = _LineBuilder()
    parser = SafeET.XMLParser(target=builder)
    builder.parser = parser
    try:
        parser.feed(text.lstrip("\ufeff") if isinstance(text, str) else text)
        root = parser.close()
    except UnicodeError as exc:  # a str with lone surrogates cannot reach the parser
        raise ChartDefinitionError(f"malformed text in {source}: {exc}", path=source) from None
    except LookupError as exc:  # an encoding the XML declaration names that Python lacks
        raise ChartDefinitionError(
            f"unknown encoding declared in {source}: {exc}", path=source
        ) from None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ChartDefinitionError(
            f"malformed XML in {source}: {exc}", path=source, line=line
        ) from exc
    except defusedxml.DefusedXmlException as exc:
        line = parser.parser.CurrentLineNumber
        raise ChartDefinitionError(
            f"refused XML in {source}: {exc}", path=source, line=line
        ) from exc
    if _local(root) != "scxml":
        raise ChartDefinitionError(
            f"the root element of {source} must be <scxml>, not <{root.tag}>",
            path=source,
            line=_line(root),
        )
    _check_nesting(root, source)
    return root


#: the deepest element nesting a document may have (the reader and compiler recurse on it)
MAX_NESTING = 100


def _check_nesting(root: ET.Element, source: str) -> None:
    stack = [(root, 1)]
    while stack:
        e, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ChartDefinitionError(
                f"{source} nests elements more than {MAX_NESTING} levels deep",
                path=source,
                line=_line(e),
            )
        stack.extend((child, depth + 1) for child in e)


def _local(e: ET.Element) -> str | None:
    """The SCXML tag name of ``e`` (None for elements of other namespaces)."""
    tag = e.tag
    if not isinstance(tag, str):
        return None
    if tag.startswith(_NS_PREFIX):
        return tag[len(_NS_PREFIX) :]
    if tag.startswith("{"):
        return None
    return tag


def _line(e: ET.Element) -> int | None:
    return getattr(e, "sourceline", None)


# -- compiling a document ---------------------------------------------------------------------
class _Grants:
    """What the caller allowed a document (and the documents it invokes): full Python, the
    files it may read, the Basic HTTP targets it may send to."""

    __slots__ = ("allow_http", "sources", "trusted")

    def __init__(self, trusted: bool, sources: Sources, allow_http: http.Allowlist) -> None:
        self.trusted = trusted
        self.sources = sources
        self.allow_http = allow_http

    def reading(self, sources: Sources) -> _Grants:
        """The same grants for a document read through ``sources``."""
        return _Grants(self.trusted, sources, self.allow_http)


class _Document:
    """Builds the ChartSpec of one ``<scxml>`` element."""

    def __init__(
        self,
        root: ET.Element,
        *,
        source: str,
        grants: _Grants,
        stack: tuple[str, ...],
        invoked: bool,
    ) -> None:
        self.root = root
        #: an invoked document: an unknown transition target fails when taken, not at load
        self.invoked = invoked
        self.source = source
        self.grants = grants
        #: the files this document may read
        self.sources = grants.sources
        # charts compiled at run time (invoke srcexpr / content expr), per document, bounded
        self._file_charts: dict[str, tuple[bytes, Chart]] = {}
        self._content_charts: dict[int, tuple[Any, Chart]] = {}
        self.trusted = trusted = grants.trusted
        self.stack = stack
        stem = Path(source).stem if source != "<string>" else "scxml"
        self.name = root.get("name") or stem
        self.compiler = Compiler(trusted=trusted, name=self.name, ioprocessors=_ioprocessors)
        self.ids: set[str] = set()
        self.parents: dict[str, str | None] = {}
        self._anon = itertools.count(1)
        self._collect_ids(root, None)

    # -- helpers ----------------------------------------------------------------------------
    def _collect_ids(self, e: ET.Element, parent: str | None) -> None:
        for child in e:
            tag = _local(child)
            if tag in _STATE_TAGS:
                sid = child.get("id")
                if sid is not None:
                    self.ids.add(sid)
                    self.parents[sid] = parent
                self._collect_ids(child, sid if sid is not None else parent)

    def _fresh(self, kind: str) -> str:
        while True:
            sid = f"_{kind}{next(self._anon)}"
            if sid not in self.ids:
                self.ids.add(sid)
                return sid

    def error(self, e: ET.Element, path: str, message: str) -> ChartDefinitionError:
        return ChartDefinitionError(f"<{_local(e) or e.tag}>: {message}", path=path, line=_line(e))

    def where(self, e: ET.Element, attribute: str, path: str) -> Where:
        return Where(_local(e) or str(e.tag), attribute, path, _line(e))

    def expr(self, e: ET.Element, attribute: str, path: str) -> Callable[[ActionContext], Any]:
        return self.compiler.expr(e.get(attribute) or "", self.where(e, attribute, path))

    def location(self, e: ET.Element, attribute: str, path: str) -> Location:
        return self.compiler.location(e.get(attribute) or "", self.where(e, attribute, path))

    def allowed(self, e: ET.Element, attribute: str, path: str) -> str:
        """Check the static reference in ``attribute`` against what the document may read
        (a refusal names the element, attribute and line); return its key."""
        try:
            return self.sources.key(e.get(attribute) or "")
        except SourceError as exc:
            raise self.error(e, path, f"{attribute}: {exc}") from None

    def kept(self, fn: Callable[[ActionContext], Any]) -> Callable[[ActionContext], Any]:
        """``fn`` computing a value the session keeps or sends (data, params, content): in
        safe mode its size is checked with shared parts counted every time."""
        return fn if self.trusted else stored(fn)

    def exclusive(self, e: ET.Element, path: str, *attrs: str) -> None:
        given = [a for a in attrs if e.get(a) is not None]
        if len(given) > 1:
            raise self.error(e, path, f"{' and '.join(given)} cannot be used together")

    # -- the document -----------------------------------------------------------------------
    def build(self) -> ChartSpec:
        root = self.root
        path = "scxml"
        binding = root.get("binding", "early")
        if binding not in ("early", "late"):
            raise self.error(root, path, f"binding must be 'early' or 'late', not {binding!r}")
        states: list[StateSpec] = []
        data: list[DataSpec] = []
        scripts: list[Action] = [_register_session]
        for child in root:
            tag = _local(child)
            if tag is None:
                continue
            if tag in ("state", "parallel", "final"):
                states.append(self.state(child, tag, path))
            elif tag == "datamodel":
                data.extend(self.datamodel(child, path))
            elif tag == "script":
                scripts.append(self.script(child, f"{path}/script"))
            else:
                raise self.error(child, f"{path}/{tag}", "not allowed as a child of <scxml>")
        if not states:
            raise self.error(root, path, "a document needs at least one state")
        initial = tuple(root.get("initial", "").split()) or None
        return ChartSpec(
            id=self.name,
            name=self.name,
            states=states,
            initial=initial,
            data=data,
            binding="late" if binding == "late" else "early",
            scripts=tuple(scripts),
            path=path,
            meta={"format": "scxml", "source": self.source, "trusted": self.trusted},
        )

    def state(self, e: ET.Element, kind: str, parent_path: str) -> StateSpec:
        sid = e.get("id") or self._fresh(kind)
        path = f"{parent_path}/{kind}[{sid}]"
        spec = StateSpec(id=sid, kind=kind, path=path, line=_line(e))  # type: ignore[arg-type]
        if kind == "history":
            htype = e.get("type", "shallow")
            if htype not in ("shallow", "deep"):
                raise self.error(e, path, f"type must be 'shallow' or 'deep', not {htype!r}")
            spec.history = "deep" if htype == "deep" else "shallow"
        initial_attr = e.get("initial")
        if initial_attr is not None:
            if kind != "state":
                raise self.error(e, path, f"a <{kind}> has no initial attribute")
            spec.initial = tuple(initial_attr.split())
        for child in e:
            tag = _local(child)
            if tag is None:
                continue
            cpath = f"{path}/{tag}"
            if tag in _STATE_TAGS and kind in ("state", "parallel"):
                spec.children.append(self.state(child, tag, path))
            elif tag == "initial" and kind == "state":
                if initial_attr is not None:
                    raise self.error(
                        child,
                        cpath,
                        "a state cannot have both an initial attribute and an <initial> element",
                    )
                spec.initial, spec.initial_actions = self.initial(child, cpath)
            elif tag == "transition" and kind != "final":
                if kind == "history" and spec.transitions:
                    raise self.error(child, cpath, "a history state has one default transition")
                spec.transitions.append(self.transition(child, sid, cpath))
            elif tag == "onentry" and kind != "history":
                spec.onentry.append(self.block(child, cpath))
            elif tag == "onexit" and kind != "history":
                spec.onexit.append(self.block(child, cpath))
            elif tag == "datamodel" and kind != "history":
                spec.data.extend(self.datamodel(child, cpath))
            elif tag == "invoke" and kind in ("state", "parallel"):
                spec.invokes.append(self.invoke(child, sid, cpath))
            elif tag == "donedata" and kind == "final":
                spec.donedata = self.payload(child, cpath, allow_namelist=False)
            else:
                raise self.error(child, cpath, f"not allowed inside <{kind}>")
        return spec

    def initial(self, e: ET.Element, path: str) -> tuple[tuple[str, ...], tuple[Action, ...]]:
        transitions = [c for c in e if _local(c) == "transition"]
        if len(transitions) != 1:
            raise self.error(e, path, "an <initial> needs exactly one <transition>")
        t = transitions[0]
        targets = tuple((t.get("target") or "").split())
        if not targets:
            raise self.error(t, f"{path}/transition", "the initial transition needs a target")
        if t.get("event") is not None or t.get("cond") is not None:
            raise self.error(t, f"{path}/transition", "the initial transition has no event/cond")
        return targets, self.block(t, f"{path}/transition")

    def transition(self, e: ET.Element, source: str, path: str) -> TransitionSpec:
        event = e.get("event")
        descriptors: tuple[str, ...] = ()
        if event is not None:
            descriptors = parse_descriptors(event)
            if not descriptors:
                raise self.error(e, path, f"invalid event descriptor {event!r}")
        targets = tuple((e.get("target") or "").split())
        ttype = e.get("type", "external")
        if ttype not in ("external", "internal"):
            raise self.error(e, path, f"type must be 'external' or 'internal', not {ttype!r}")
        if ttype == "internal" and not all(self._is_descendant(t, source) for t in targets):
            # SCXML 3.13: such an internal transition behaves exactly like an external one
            ttype = "external"
        cond_text = e.get("cond")
        cond = self.expr(e, "cond", path) if cond_text is not None and cond_text.strip() else None
        unknown = [t for t in targets if t not in self.ids]
        if unknown and self.invoked:
            # the W3C suite invokes documents with such dead transitions (test 240): the
            # invoked document still runs, and the transition fails if it is ever selected
            cond = _unknown_target(unknown, self.where(e, "target", path))
            targets = ()
        return TransitionSpec(
            event=descriptors,
            target=targets,
            cond=cond,
            type="internal" if ttype == "internal" else "external",
            actions=self.block(e, path),
            path=path,
            line=_line(e),
            cond_label=cond_text,
        )

    def _is_descendant(self, sid: str, ancestor: str) -> bool:
        seen: set[str] = set()
        p = self.parents.get(sid)
        while p is not None and p not in seen:
            if p == ancestor:
                return True
            seen.add(p)
            p = self.parents.get(p)
        return False

    # -- datamodel --------------------------------------------------------------------------
    def datamodel(self, e: ET.Element, path: str) -> list[DataSpec]:
        out: list[DataSpec] = []
        for child in e:
            tag = _local(child)
            if tag is None:
                continue
            if tag != "data":
                raise self.error(child, f"{path}/{tag}", "only <data> is allowed in <datamodel>")
            out.append(self.data(child, f"{path}/data"))
        return out

    def data(self, e: ET.Element, path: str) -> DataSpec:
        name = e.get("id")
        if not name:
            raise self.error(e, path, "a <data> needs an id")
        if name.startswith("_") and name in ("_event", "_sessionid", "_name", "_ioprocessors"):
            raise self.error(e, path, f"{name!r} is a system variable")
        path = f"{path}[{name}]"
        self.exclusive(e, path, "expr", "src")
        inline = _inline_value(e)
        if (e.get("expr") is not None or e.get("src") is not None) and inline is not _NOTHING:
            raise self.error(e, path, "a <data> takes expr, src or content, not several")
        line = _line(e)
        if e.get("expr") is not None:
            value = self.kept(self.expr(e, "expr", path))
            return DataSpec(name, expr=value, path=path, line=line)
        src = e.get("src")
        if src is not None:
            self.allowed(e, "src", path)
            return DataSpec(name, expr=self._file_value(src), path=path, line=line)
        if inline is _NOTHING:
            return DataSpec(name, None, path=path, line=line)
        return DataSpec(name, expr=_constant(inline), path=path, line=line)

    def _file_value(self, src: str) -> Callable[[ActionContext], Any]:
        """The value of a ``src`` file (``<data>``, ``<content>``), read when first needed:
        a file that cannot be read raises ``error.execution`` then."""
        sources = self.sources
        cache: list[Any] = []

        def load_data(ctx: ActionContext) -> Any:
            if not cache:
                data, _, _ = sources.read(src)
                cache.append(parse_value_text(text_of(data, src)))
            return copy_value(cache[0])

        return load_data

    # -- executable content -----------------------------------------------------------------
    def block(self, e: ET.Element, path: str) -> tuple[Action, ...]:
        actions: list[Action] = []
        for child in e:
            tag = _local(child)
            if tag is None:
                continue
            action = self.executable(child, tag, f"{path}/{tag}")
            if action is not None:
                actions.append(action)
        return tuple(actions)

    def executable(self, e: ET.Element, tag: str, path: str) -> Action | None:
        builder = getattr(self, f"x_{tag}", None)
        if builder is None:
            raise self.error(e, path, "is not executable content")
        return builder(e, path)  # type: ignore[no-any-return]

    def x_raise(self, e: ET.Element, path: str) -> Action:
        name = e.get("event")
        if not name:
            raise self.error(e, path, "a <raise> needs an event")

        def raise_event(ctx: ActionContext) -> None:
            ctx.raise_(name)

        return raise_event

    def x_log(self, e: ET.Element, path: str) -> Action:
        label = e.get("label")
        value = self.expr(e, "expr", path) if e.get("expr") is not None else None

        def log(ctx: ActionContext) -> None:
            ctx.log(label, value(ctx) if value is not None else None)

        return log

    def x_assign(self, e: ET.Element, path: str) -> Action:
        if not (e.get("location") or "").strip():
            raise self.error(e, path, "an <assign> needs a location")
        loc = self.location(e, "location", path)
        inline = _inline_value(e)
        if e.get("expr") is not None:
            if inline is not _NOTHING:
                raise self.error(e, path, "an <assign> takes expr or content, not both")
            value = self.expr(e, "expr", path)
        elif inline is not _NOTHING:
            value = _constant(inline)
        else:
            raise self.error(e, path, "an <assign> needs expr or content")

        def assign(ctx: ActionContext) -> None:
            loc.assign(ctx, value(ctx))

        return assign

    def x_script(self, e: ET.Element, path: str) -> Action:
        return self.script(e, path)

    def script(self, e: ET.Element, path: str) -> Action:
        where = self.where(e, "body", path)
        src = e.get("src")
        text = e.text or ""
        if src is not None:
            if text.strip():
                raise self.error(e, path, "a <script> takes src or a body, not both")
            if not self.trusted:
                return self.compiler.script("", where)  # raises the safe-mode error
            try:
                data, _, _ = self.sources.read(src)
                text = text_of(data, src)
            except SourceError as exc:
                raise self.error(e, path, f"src: {exc}") from None
        return self.compiler.script(text, where)

    def x_cancel(self, e: ET.Element, path: str) -> Action:
        self.exclusive(e, path, "sendid", "sendidexpr")
        static = e.get("sendid")
        dynamic = self.expr(e, "sendidexpr", path) if e.get("sendidexpr") is not None else None
        if static is None and dynamic is None:
            raise self.error(e, path, "a <cancel> needs sendid or sendidexpr")

        def cancel(ctx: ActionContext) -> None:
            sid = static if dynamic is None else dynamic(ctx)
            ctx.cancel(str(sid))

        return cancel

    def x_if(self, e: ET.Element, path: str) -> Action:
        branches: list[tuple[Callable[[ActionContext], Any] | None, list[Action]]] = []
        if not (e.get("cond") or "").strip():
            raise self.error(e, path, "an <if> needs a cond")
        branches.append((self.expr(e, "cond", path), []))
        seen_else = False
        for child in e:
            tag = _local(child)
            if tag is None:
                continue
            cpath = f"{path}/{tag}"
            if tag == "elseif":
                if seen_else:
                    raise self.error(child, cpath, "<elseif> after <else>")
                branches.append((self.expr(child, "cond", cpath), []))
            elif tag == "else":
                if seen_else:
                    raise self.error(child, cpath, "a second <else>")
                seen_else = True
                branches.append((None, []))
            else:
                action = self.executable(child, tag, cpath)
                if action is not None:
                    branches[-1][1].append(action)
        frozen = tuple((cond, tuple(actions)) for cond, actions in branches)

        def if_(ctx: ActionContext) -> None:
            for cond, actions in frozen:
                if cond is not None:
                    try:
                        ok = bool(cond(ctx))
                    except Exception as exc:  # SCXML 5.9: false, and error.execution
                        _report(ctx, exc)
                        ok = False
                    if not ok:
                        continue
                for action in actions:
                    action(ctx)
                return

        return if_

    def x_foreach(self, e: ET.Element, path: str) -> Action:
        for attr in ("array", "item"):
            if not (e.get(attr) or "").strip():
                raise self.error(e, path, f"a <foreach> needs {attr}")
        array = self.expr(e, "array", path)
        item = self.location(e, "item", path)
        index = self.location(e, "index", path) if e.get("index") is not None else None
        body = self.block(e, path)

        safe = not self.trusted

        def foreach(ctx: ActionContext) -> None:
            for loc in (item, index):
                if loc is not None and (loc.error is not None or loc.name is None):
                    raise ValueError(f"{loc.where}: {loc.text!r} is not a variable name")
            for i, value in enumerate(iter_items(array(ctx))):
                if safe:
                    charge(1)
                item.assign(ctx, value, create=True)
                if index is not None:
                    index.assign(ctx, i, create=True)
                for action in body:
                    action(ctx)

        # safe mode: the array, every iteration and every expression of the body share one
        # work budget, so a loop of loops is as bounded as one expression
        return bounded(foreach) if safe else foreach

    # -- send ---------------------------------------------------------------------------------
    def x_send(self, e: ET.Element, path: str) -> Action:
        for pair in (
            ("event", "eventexpr"),
            ("target", "targetexpr"),
            ("type", "typeexpr"),
            ("id", "idlocation"),
            ("delay", "delayexpr"),
        ):
            self.exclusive(e, path, *pair)
        event = e.get("event")
        eventexpr = self.expr(e, "eventexpr", path) if e.get("eventexpr") is not None else None
        target = e.get("target")
        targetexpr = self.expr(e, "targetexpr", path) if e.get("targetexpr") is not None else None
        stype = e.get("type")
        typeexpr = self.expr(e, "typeexpr", path) if e.get("typeexpr") is not None else None
        send_id = e.get("id")
        idlocation = self.location(e, "idlocation", path) if e.get("idlocation") else None
        delay_static = 0.0
        if e.get("delay") is not None:
            try:
                delay_static = _parse_delay(e.get("delay"))
            except ValueError as exc:
                raise self.error(e, path, str(exc)) from None
        delayexpr = self.expr(e, "delayexpr", path) if e.get("delayexpr") is not None else None
        payload = self.payload(e, path, allow_namelist=True)
        if stype is not None and stype not in _SCXML_TYPES | _HTTP_TYPES:
            stype_error: str | None = f"unsupported send type {stype!r}"
        else:
            stype_error = None
        allow_http = self.grants.allow_http
        if (delay_static or delayexpr is not None) and target == "#_internal":
            raise self.error(e, path, "events sent to #_internal cannot be delayed")

        def send(ctx: ActionContext) -> None:
            sid = send_id
            try:
                typ = stype if typeexpr is None else _str_or_none(typeexpr(ctx))
                if stype_error is not None:
                    raise ValueError(stype_error)
                if typ is not None and typ not in _SCXML_TYPES | _HTTP_TYPES:
                    raise ValueError(f"unsupported send type {typ!r}")
                http_type = typ in _HTTP_TYPES
                name = event if eventexpr is None else _str_or_none(eventexpr(ctx))
                to = target if targetexpr is None else _str_or_none(targetexpr(ctx))
                delay = delay_static if delayexpr is None else _parse_delay(delayexpr(ctx))
                data = payload(ctx) if payload is not None else None
                if http_type:
                    if not to:
                        _communication_error(
                            ctx, sid, idlocation, "a Basic HTTP send needs a target"
                        )
                        return
                    if not to.startswith(("http://", "https://")):
                        raise ValueError(f"invalid Basic HTTP target {to!r}")
                    if not allow_http.allows(to):
                        _communication_error(
                            ctx,
                            sid,
                            idlocation,
                            f"Basic HTTP send to {to!r} refused: not an allowed target"
                            " (from_scxml(..., allow_http=[...]) grants targets)",
                        )
                        return
                    http.prepare(ctx)
                else:
                    if not name:
                        raise ValueError("a <send> needs an event name")
                    if to is not None:
                        reachable = _check_target(ctx, to)
                        if not reachable:
                            _communication_error(ctx, sid, idlocation, f"no session {to!r}")
                            return
                    if to == "#_internal" and delay:
                        raise ValueError("events sent to #_internal cannot be delayed")
                sid = ctx.send(
                    name or "",
                    data,
                    target=to,
                    delay=delay,
                    sendid=send_id,
                    type=HTTP_PROCESSOR if http_type else None,
                )
            except Exception as exc:
                if sid is None:
                    sid = _new_sendid(ctx)
                if idlocation is not None:
                    idlocation.assign(ctx, sid, create=True)
                exc.sendid = sid  # type: ignore[attr-defined]
                raise
            if idlocation is not None:
                idlocation.assign(ctx, sid, create=True)

        return send

    def payload(
        self, e: ET.Element, path: str, *, allow_namelist: bool, allow_content: bool = True
    ) -> Callable[[ActionContext], Any] | None:
        """The data of ``<send>``, ``<donedata>`` and ``<invoke>``: namelist and params, or
        content (an invoke's content is its document, not data)."""
        names: list[tuple[str, Location]] = []
        if allow_namelist and e.get("namelist"):
            for n in (e.get("namelist") or "").split():
                names.append((n, self.compiler.location(n, self.where(e, "namelist", path))))
        params: list[tuple[str, Callable[[ActionContext], Any]]] = []
        content: Callable[[ActionContext], Any] | None = None
        for child in e:
            tag = _local(child)
            cpath = f"{path}/{tag}"
            if tag == "param":
                pname = child.get("name")
                if not pname:
                    raise self.error(child, cpath, "a <param> needs a name")
                self.exclusive(child, cpath, "expr", "location")
                if child.get("expr") is not None:
                    params.append((pname, self.expr(child, "expr", cpath)))
                elif child.get("location") is not None:
                    params.append((pname, self.location(child, "location", cpath).read))
                else:
                    raise self.error(child, cpath, "a <param> needs expr or location")
            elif tag == "content" and allow_content:
                if content is not None:
                    raise self.error(child, cpath, "only one <content> is allowed")
                content = self.content(child, cpath)
        if content is not None and (names or params):
            raise self.error(e, path, "<content> cannot be combined with namelist or <param>")
        if content is not None:
            return self.kept(content)
        if not names and not params:
            return None
        fixed_names = tuple(names)
        fixed_params = tuple(params)

        def data(ctx: ActionContext) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for n, loc in fixed_names:
                out[n] = loc.read(ctx)
            for n, fn in fixed_params:
                out[n] = fn(ctx)
            return out

        return self.kept(data)

    def content(self, e: ET.Element, path: str) -> Callable[[ActionContext], Any]:
        inline = _inline_value(e)
        if e.get("src") is not None:
            if e.get("expr") is not None or inline is not _NOTHING:
                raise self.error(e, path, "a <content> takes src, expr or a body, not several")
            self.allowed(e, "src", path)
            return self._file_value(e.get("src") or "")
        if e.get("expr") is not None:
            if inline is not _NOTHING:
                raise self.error(e, path, "a <content> takes expr or a body, not both")
            return self.expr(e, "expr", path)
        return _constant(None if inline is _NOTHING else inline)

    # -- invoke -------------------------------------------------------------------------------
    def invoke(self, e: ET.Element, state_id: str, path: str) -> InvokeSpec:
        for pair in (("type", "typeexpr"), ("src", "srcexpr"), ("id", "idlocation")):
            self.exclusive(e, path, *pair)
        contents = [c for c in e if _local(c) == "content"]
        finalizes = [c for c in e if _local(c) == "finalize"]
        given = [a for a in ("src", "srcexpr") if e.get(a) is not None]
        if len(contents) > 1 or len(finalizes) > 1:
            raise self.error(e, path, "at most one <content> and one <finalize>")
        if len(given) + len(contents) != 1:
            raise self.error(e, path, "an <invoke> needs exactly one of src, srcexpr, <content>")
        for child in e:
            tag = _local(child)
            if tag is not None and tag not in ("content", "finalize", "param"):
                raise self.error(child, f"{path}/{tag}", "not allowed inside <invoke>")
        static: Chart | None = None
        dynamic: Callable[[ActionContext], Any] | None = None
        if contents:
            c = contents[0]
            cpath = f"{path}/content"
            if c.get("expr") is not None:
                value_of = self.expr(c, "expr", cpath)

                def dynamic_content(ctx: ActionContext) -> Any:
                    return self._chart_of(value_of(ctx))

                dynamic = dynamic_content
            else:
                docs = [x for x in c if _local(x) == "scxml"]
                if len(docs) == 1:
                    static = self._child(docs[0], self.source, self.sources, self.stack)
                elif (c.text or "").strip().startswith("<"):
                    static = self._chart_of(c.text or "")
                else:
                    raise self.error(c, cpath, "the <content> of an <invoke> needs an <scxml>")
        elif e.get("src") is not None:
            src = e.get("src") or ""
            if self.allowed(e, "src", path) in self.stack:
                dynamic = self._lazy_file(src)  # a document invoking itself: load when run
            else:
                static = self._file_chart(src, e, path)
        else:
            srcexpr = self.expr(e, "srcexpr", path)

            def dynamic_src(ctx: ActionContext) -> Any:
                return self._chart_of_src(srcexpr(ctx))

            dynamic = dynamic_src
        stype = e.get("type")
        typeexpr = self.expr(e, "typeexpr", path) if e.get("typeexpr") is not None else None
        if stype is not None and stype not in _INVOKE_TYPES:
            raise self.error(e, path, f"unsupported invoke type {stype!r}")

        def invoke_type(ctx: ActionContext) -> str:
            typ = stype if typeexpr is None else _str_or_none(typeexpr(ctx))
            if typ is not None and typ not in _INVOKE_TYPES:
                raise ValueError(f"unsupported invoke type {typ!r}")
            return "scxml"

        params = self.payload(e, path, allow_namelist=True, allow_content=False)

        def src_of(ctx: ActionContext) -> Any:
            assert dynamic is not None
            chart = dynamic(ctx)
            runtime_state(ctx).invoke_src = chart
            return chart

        def invoke_data(ctx: ActionContext) -> Any:
            if params is None:
                return None
            values = params(ctx)
            if not isinstance(values, dict):
                return None
            chart = static if static is not None else runtime_state(ctx).invoke_src
            declared = {d.name for d in chart.root.data} if isinstance(chart, Chart) else set()
            # SCXML 6.4: only names the invoked document declares at top level are set
            return {k: v for k, v in values.items() if k in declared}

        finalize = self.block(finalizes[0], f"{path}/finalize") if finalizes else ()
        autoforward = e.get("autoforward", "false")
        if autoforward not in ("true", "false"):
            raise self.error(e, path, f"autoforward must be 'true' or 'false', not {autoforward!r}")
        return InvokeSpec(
            id=e.get("id"),
            idlocation=(e.get("idlocation") or "").strip() or None,
            src=static,
            src_expr=src_of if dynamic is not None else None,
            type="scxml",
            type_expr=invoke_type,
            params=invoke_data,
            autoforward=autoforward == "true",
            finalize=finalize,
            path=path,
            line=_line(e),
        )

    def _child(
        self, root: ET.Element, source: str, sources: Sources, stack: tuple[str, ...]
    ) -> Chart:
        """Compile an invoked document with this document's grants (reading through
        ``sources``)."""
        doc = _Document(
            root, source=source, grants=self.grants.reading(sources), stack=stack, invoked=True
        )
        return compile_chart(doc.build())

    def _file_chart(self, src: str, e: ET.Element, epath: str) -> Chart:
        try:
            data, key, sources = self.sources.read(src)
        except SourceError as exc:
            raise self.error(e, epath, f"src: {exc}") from None
        source = key.removeprefix("loader:")
        return self._child(_parse(data, source), source, sources, (*self.stack, key))

    def _lazy_file(self, src: str) -> Callable[[ActionContext], Any]:
        def lazy(ctx: ActionContext) -> Any:
            return self._chart_of_src(src)

        return lazy

    def _chart_of_src(self, src: Any) -> Chart:
        """The chart a computed ``srcexpr`` names, read with this document's grant (a refusal
        is ``error.execution``); the same text is compiled once."""
        if isinstance(src, Chart):
            return src
        if not isinstance(src, str):
            raise TypeError(f"an invoke src must be a string, not {type(src).__name__}")
        data, key, sources = self.sources.read(src)
        hit = self._file_charts.get(key)
        if hit is not None and hit[0] == data:
            return hit[1]
        source = key.removeprefix("loader:")
        chart = self._child(_parse(data, source), source, sources, (key,))
        _remember(self._file_charts, key, (data, chart))
        return chart

    def _chart_of(self, value: Any) -> Chart:
        """A chart from an invoke's content value: an ``<scxml>`` element or its text."""
        if isinstance(value, Chart):
            return value
        key = id(value)
        hit = self._content_charts.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        if isinstance(value, str):
            root = _parse(value, "<content>")
        elif isinstance(value, ET.Element):
            root = value
            if _local(root) != "scxml":
                raise ValueError(f"invoke content must be an <scxml> document, not <{root.tag}>")
        else:
            raise TypeError(f"cannot invoke {type(value).__name__} content")
        chart = self._child(root, f"{self.source}#content", self.sources, self.stack)
        _remember(self._content_charts, key, (value, chart))
        return chart


_CACHE_SIZE = 64


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    cache[key] = value
    while len(cache) > _CACHE_SIZE:
        del cache[next(iter(cache))]


_NOTHING: Any = object()


def _inline_value(e: ET.Element) -> Any:
    """The inline content of ``<data>``/``<assign>``/``<content>``: an element, or the value
    of its text, or ``_NOTHING``."""
    children = [c for c in e if isinstance(c.tag, str)]
    if children:
        return children[0] if len(children) == 1 else children
    text = e.text or ""
    if not text.strip():
        return _NOTHING
    return parse_value_text(text)


def _constant(value: Any) -> Callable[[ActionContext], Any]:
    def constant(ctx: ActionContext) -> Any:
        return copy_value(value)

    return constant


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _parse_delay(value: Any) -> float:
    """SCXML delays are CSS2 times (``"1s"``, ``".5s"``, ``"200ms"``); numbers are seconds."""
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"invalid delay {shown(value)}: expected a time >= 0 such as '1s' or '500ms'"
        ) from None


def _report(ctx: ActionContext, exc: BaseException, name: str = "error.execution") -> None:
    """Raise an error event now without stopping the block (``<if>`` conditions, sends)."""
    raise_error = getattr(ctx, "raise_error", None)
    if raise_error is not None:
        raise_error(exc, name)
    else:
        ctx.raise_(name, {"error": str(exc)})


def _new_sendid(ctx: ActionContext) -> str:
    fn = getattr(ctx, "next_sendid", None)
    if fn is not None:
        return str(fn())
    return f"send.{id(ctx):x}"


class _CommunicationError(Exception):
    """A ``<send>`` whose target cannot be reached."""


def _communication_error(
    ctx: ActionContext, sid: str | None, idlocation: Location | None, message: str
) -> None:
    if sid is None:
        sid = _new_sendid(ctx)
    if idlocation is not None:
        idlocation.assign(ctx, sid, create=True)
    exc = _CommunicationError(message)
    exc.sendid = sid  # type: ignore[attr-defined]
    _report(ctx, exc, "error.communication")


def _check_target(ctx: ActionContext, target: str) -> bool:
    """Validate a SCXML Event I/O Processor target: True to dispatch, False when it cannot
    be reached; raise for invalid syntax (``error.execution``)."""
    if target.startswith("#_scxml_"):
        sid = target[8:]
        return sid == ctx.session_id or sid in _SESSIONS
    if target in ("#_internal", "#_parent") or (target.startswith("#_") and len(target) > 2):
        return True
    if _URI_SCHEME.match(target):
        return True  # a URI: the driver routes it (error.communication if it cannot)
    raise ValueError(f"invalid send target {target!r}")


def _register_session(ctx: ActionContext) -> None:
    """Top-level script of every SCXML chart: make the session reachable as
    ``#_scxml_<sessionid>``."""
    _SESSIONS[ctx.session_id] = ctx


class _IOProcessors(Mapping[str, Any]):
    """``_ioprocessors``: the SCXML processor (``#_scxml_<sessionid>``) and Basic HTTP (a
    URL on a 127.0.0.1 server started the first time a session asks for it)."""

    _KEYS = ("scxml", SCXML_PROCESSOR, "basichttp", HTTP_PROCESSOR)

    def __init__(self, ctx: ActionContext) -> None:
        self._ctx = ctx

    def __getitem__(self, key: str) -> AttrDict:
        if key in ("scxml", SCXML_PROCESSOR):
            return AttrDict(location=f"#_scxml_{self._ctx.session_id}")
        if key in ("basichttp", HTTP_PROCESSOR):
            return AttrDict(location=http.location(self._ctx))
        raise KeyError(key)

    def __iter__(self) -> Any:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)

    def __repr__(self) -> str:
        return f"_ioprocessors({list(self._KEYS)})"

    # immutable (it only reads the session id): copies share it, so snapshots of a datamodel
    # holding it work
    def __copy__(self) -> _IOProcessors:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _IOProcessors:
        return self


def _ioprocessors(ctx: ActionContext) -> _IOProcessors:
    return _IOProcessors(ctx)


def _unknown_target(unknown: list[str], where: Where) -> Callable[[ActionContext], Any]:
    message = f"{where}: unknown target {' '.join(unknown)!r}: the transition cannot be taken"

    def unknown_target(ctx: ActionContext) -> Any:
        raise LookupError(message)

    return unknown_target
