"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API returns has the same shape: ``type`` (a URI naming the error class),
``title``, ``status``, ``detail`` (what is wrong and where) and ``error`` (the statefleet
error type, e.g. ``InvalidEventError``). Our error types map to statuses here, in one place;
anything unexpected is a 500 that says nothing about the server's insides.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from statefleet.core import (
    ActorError,
    ActorStoppedError,
    ChartDefinitionError,
    InvalidEventError,
    MailboxFullError,
    PersistenceError,
    SnapshotError,
    StatefleetError,
)
from statefleet.persistence import VersionConflictError

__all__ = ["PROBLEM_JSON", "ApiError", "Problem", "problem_response", "to_problem"]

log = logging.getLogger("statefleet.http")

PROBLEM_JSON = "application/problem+json"
_TYPE = "https://statefleet.dev/problems/"


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An error response (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    error: str
    extra: dict[str, Any] | None = None


class ApiError(StatefleetError):
    """An error of the HTTP layer itself: ``status`` and a ``title`` (``NotFound``,
    ``Conflict``, ``Forbidden``, ...); ``extra`` goes into the problem body."""

    def __init__(
        self, status: int, title: str, detail: str, *, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


#: our error types by status, most specific first
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (VersionConflictError, 409),
    (MailboxFullError, 503),
    (ActorStoppedError, 503),
    (InvalidEventError, 400),
    (ChartDefinitionError, 422),
    (SnapshotError, 422),
    (PersistenceError, 503),
    (ActorError, 409),
    (StatefleetError, 400),
)

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _slug(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("-")
        out.append(ch.lower())
    return "".join(out)


def to_problem(exc: BaseException) -> Problem:
    """The problem details of ``exc``."""
    if isinstance(exc, ApiError):
        return Problem(
            type=_TYPE + _slug(exc.title),
            title=_TITLES.get(exc.status, exc.title),
            status=exc.status,
            detail=exc.detail,
            error=exc.title,
            extra=exc.extra,
        )
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list | dict) else None
        return Problem(
            type=_TYPE + "invalid-request",
            title=_TITLES[400],
            status=400,
            detail=str(exc.detail),
            error="InvalidRequest",
            extra={"errors": extra} if extra is not None else None,
        )
    if isinstance(exc, HTTPException):
        status = exc.status_code
        name = _TITLES.get(status, "HTTP Error").replace(" ", "")
        return Problem(
            type=_TYPE + _slug(name),
            title=_TITLES.get(status, "HTTP Error"),
            status=status,
            detail=str(exc.detail),
            error=name,
        )
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            name = type(exc).__name__
            return Problem(
                type=_TYPE + _slug(name),
                title=_TITLES[status],
                status=status,
                detail=str(exc),
                error=name,
            )
    return Problem(
        type=_TYPE + "internal-error",
        title=_TITLES[500],
        status=500,
        detail="the server failed to handle the request (see its log)",
        error="InternalError",
    )


def problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The exception handler of the app: every error as problem+json."""
    problem = to_problem(exc)
    if problem.status >= 500 and not isinstance(exc, StatefleetError):
        log.error("statefleet http: %s %s failed", request.method, request.url.path, exc_info=exc)
    headers = {}
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="statefleet"'
    return Response(
        content=msgspec.to_builtins(problem),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )
