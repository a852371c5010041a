"""The HTTP API: ``statefleet.http.create_app(system)`` (``pip install statefleet[http]``).

- :func:`create_app`: a Litestar ASGI app serving the pystator-compatible routes, the actor
  routes, the record stream (SSE) and the OpenAPI docs (``/docs``) over a running
  :class:`~statefleet.actors.ActorSystem`, or over a :class:`Fleet` it starts itself.
- :class:`Fleet`: an ASGI lifespan that runs an actor system and its store inside any app
  (FastAPI, Starlette, Litestar).
- :func:`trace_context`: the trace context of a request (W3C ``traceparent``) to give the
  events it sends.

See ``docs/http.md``.
"""

from statefleet.http._app import DEFAULT_MAX_BODY, TOKEN_ENV, create_app, token_from_env
from statefleet.http._lifespan import Fleet, JournalRecords
from statefleet.http._problems import ApiError, Problem
from statefleet.http._trace import trace_context

__all__ = [
    "DEFAULT_MAX_BODY",
    "TOKEN_ENV",
    "ApiError",
    "Fleet",
    "JournalRecords",
    "Problem",
    "create_app",
    "token_from_env",
    "trace_context",
]
