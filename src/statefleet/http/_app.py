"""``create_app``: the HTTP API as a Litestar ASGI app over a running actor system.

Litestar because it is anyio-based like the runtime, validates and documents msgspec Structs
natively (the OpenAPI schema comes from the same types that decode requests), and serves
Server-Sent Events from an async generator; uvicorn runs it (``statefleet serve``).
"""

from __future__ import annotations

import contextlib
import hmac
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin

from statefleet.actors import ActorSystem
from statefleet.core import ActorError
from statefleet.http._api import Api
from statefleet.http._lifespan import Fleet
from statefleet.http._problems import ApiError, problem_response
from statefleet.http._routes import ROUTES
from statefleet.http.inspector import INSPECTOR_ROUTES
from statefleet.persistence import Store

__all__ = ["DEFAULT_MAX_BODY", "TOKEN_ENV", "create_app", "token_from_env"]

#: the largest request body accepted by default (bytes)
DEFAULT_MAX_BODY = 1 << 20
#: the environment variable ``statefleet serve`` reads the bearer token from
TOKEN_ENV = "STATEFLEET_TOKEN"


def create_app(
    fleet: ActorSystem | Fleet,
    *,
    token: str | None = None,
    read_only: bool = False,
    max_body: int = DEFAULT_MAX_BODY,
    cors_origins: Sequence[str] = (),
    debug: bool = False,
) -> Litestar:
    """The HTTP API (see ``docs/http.md``) over ``fleet``.

    ``fleet`` is a running :class:`~statefleet.actors.ActorSystem` on a durable store (the
    app then serves it while it runs), or a :class:`Fleet` (the app's lifespan starts and
    stops it, or the app it is mounted in does: ``FastAPI(lifespan=fleet)``). ``token``:
    every ``/api`` request needs ``Authorization: Bearer <token>``. ``read_only``: every
    route that changes something answers ``403``. ``max_body``: larger requests get
    ``413``. ``cors_origins``: the origins allowed cross-origin (none by default: CORS is
    off).
    """
    if token is not None and (not isinstance(token, str) or len(token) < 8):
        raise ActorError("the API token must be a string of at least 8 characters")
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1024:
        raise ActorError(f"max_body must be an int >= 1024 (bytes), not {max_body!r}")
    state = State({"statefleet": None})

    def attach(system: ActorSystem) -> None:
        store = system.store
        if not isinstance(store, Store):
            raise ActorError(
                "the HTTP API needs an ActorSystem on a durable store"
                " (statefleet.persistence: SQLiteStore, PostgresStore, MemoryStore)"
            )
        state.statefleet = Api(system, store, read_only=read_only)

    lifespan: list[Any] = []
    if isinstance(fleet, Fleet):
        own = fleet

        @contextlib.asynccontextmanager
        async def run(app: Litestar) -> AsyncIterator[None]:
            if own.running:  # started by the app this one is mounted in
                yield
                return
            async with own.run():
                yield

        lifespan.append(run)
    elif isinstance(fleet, ActorSystem):
        attach(fleet)
    else:
        raise ActorError(f"create_app needs an ActorSystem or a Fleet, not {fleet!r}")

    def current() -> Api | None:
        """The API of the running system (a fleet may be started by another app's lifespan
        when this one is mounted inside it)."""
        api: Api | None = state.statefleet
        if isinstance(fleet, Fleet):
            if not fleet.running:
                return None
            if api is None or api.system is not fleet.system:
                attach(fleet.system)
                api = state.statefleet
        return api

    expected = f"Bearer {token}".encode() if token is not None else None

    async def before(request: Request[Any, Any, Any]) -> None:
        if not any(p.startswith("/api/") for p in request.route_handler.paths):
            return  # the OpenAPI docs (also when the app is mounted under a prefix)
        if expected is not None:
            given = request.headers.get("authorization", "").encode("utf-8", "replace")
            if not hmac.compare_digest(given, expected):
                raise ApiError(401, "Unauthorized", "a valid bearer token is needed")
        if current() is None:
            raise ApiError(503, "NotRunning", "the actor system is not running")

    return Litestar(
        route_handlers=[*ROUTES, *INSPECTOR_ROUTES],
        state=state,
        lifespan=lifespan,
        before_request=before,
        exception_handlers={Exception: problem_response},
        request_max_body_size=max_body,
        cors_config=CORSConfig(allow_origins=list(cors_origins)) if cors_origins else None,
        openapi_config=OpenAPIConfig(
            title="statefleet",
            version="1",
            description="Statecharts as durable actors: the pystator-compatible routes and"
            " the actor routes (see docs/http.md).",
            path="/docs",
            render_plugins=[SwaggerRenderPlugin(path="/"), JsonRenderPlugin()],
        ),
        debug=debug,
    )


def token_from_env() -> str | None:
    """The bearer token in :data:`TOKEN_ENV` (``None`` when unset or empty)."""
    return os.environ.get(TOKEN_ENV) or None
