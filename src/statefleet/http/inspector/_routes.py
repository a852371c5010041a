"""The inspector's routes: the page at ``/``, its assets, and two JSON routes under
``/api/v1/inspector`` (so the API's bearer token and read-only rules cover them)."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Final

from litestar import Response, get
from litestar.datastructures import State
from litestar.params import PathParameter, QueryParameter

from statefleet.http._api import Api
from statefleet.http._problems import ApiError
from statefleet.http.inspector._views import (
    ChartStructure,
    Overview,
    OverviewCache,
    structure,
)

__all__ = ["INSPECTOR_ROUTES"]

#: the assets the page loads, by name, with their media types (nothing else is served)
ASSETS: Final = {
    "inspector.css": "text/css; charset=utf-8",
    "inspector.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
#: the page runs only its own script and style, talks only to this server, and may not be
#: framed
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS: Final = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def _asset(name: str) -> bytes:
    """A file shipped in ``statefleet/http/inspector/static``."""
    return resources.files(__package__).joinpath("static", name).read_bytes()


@get("/", include_in_schema=False, sync_to_thread=False)
def page() -> Response[bytes]:
    """The inspector page."""
    return Response(_asset("index.html"), media_type="text/html; charset=utf-8", headers=_HEADERS)


@get("/inspector/{name:str}", include_in_schema=False, sync_to_thread=False)
def asset(name: Annotated[str, PathParameter(max_length=100)]) -> Response[bytes]:
    """One of the page's :data:`ASSETS` (404 for any other name)."""
    media = ASSETS.get(name)
    if media is None:
        raise ApiError(404, "NotFound", f"no inspector asset {name!r}")
    return Response(_asset(name), media_type=media, headers=_HEADERS)


def _api(state: State) -> Api:
    api: Api = state.statefleet
    return api


def _cache(state: State) -> OverviewCache:
    cache: OverviewCache | None = state.get("inspector_overview")
    if cache is None:
        cache = state.inspector_overview = OverviewCache()
    return cache


@get("/api/v1/inspector/overview", tags=["inspector"])
async def overview(state: State) -> Overview:
    """The fleet per chart: how many actors, per status and per active state (a count at
    most a few seconds old)."""
    return await _cache(state).get(_api(state).store)


@get("/api/v1/inspector/charts/{chart_id:str}", tags=["inspector"])
async def chart_structure(
    state: State,
    chart_id: Annotated[str, PathParameter(min_length=1, max_length=200)],
    version: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> ChartStructure:
    """A registered chart's states (nested) and transitions, for drawing."""
    return structure(_api(state).chart(chart_id, version))


INSPECTOR_ROUTES = [page, asset, overview, chart_structure]
