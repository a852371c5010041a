"""Starting and stopping an :class:`~statefleet.actors.ActorSystem` with any ASGI app.

:class:`Fleet` is an ASGI lifespan: ``FastAPI(lifespan=fleet)``, ``Starlette(lifespan=
fleet)`` or ``Litestar(lifespan=[fleet])``. On startup it opens the store and the actor
system (recovering the stored fleet); on shutdown it stops every actor and closes the store.
Between the two, :attr:`Fleet.system` is the running system.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from statefleet.actors import ActorSystem
from statefleet.core import ActorError, Chart, MacrostepRecord, Record
from statefleet.persistence import Store

__all__ = ["Fleet", "JournalRecords"]


class JournalRecords:
    """A listener that asks the runtime for macrostep records (and drops them), so every
    journal entry carries its transitions and errors."""

    record_types = (MacrostepRecord,)

    def __call__(self, record: Record) -> None:
        """Nothing to do: the store's journal takes what it needs from the commit."""


class Fleet:
    """An actor system and its store, run for the lifetime of an ASGI app.

    ``store`` is a :class:`~statefleet.persistence.Store` (opened and closed here) or a
    function making one; ``charts`` are registered; the other keywords go to
    :class:`~statefleet.actors.ActorSystem` (``listeners``, ``idle_timeout``, ...).
    """

    def __init__(
        self,
        store: Store | Callable[[], Store],
        *,
        charts: Iterable[Chart] = (),
        **options: Any,
    ) -> None:
        self._store = store
        self.charts = tuple(charts)
        self.options = options
        self._system: ActorSystem | None = None

    @property
    def system(self) -> ActorSystem:
        """The running actor system (between startup and shutdown)."""
        if self._system is None:
            raise ActorError("the fleet is not running: serve the app (its lifespan starts it)")
        return self._system

    @property
    def running(self) -> bool:
        """Between startup and shutdown."""
        return self._system is not None

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[ActorSystem]:
        """Open the store and the system; close both on exit."""
        # every statefleet store is also the runtime's ActorStore
        store: Any = self._store if isinstance(self._store, Store) else self._store()
        options = dict(self.options)
        listeners = (*options.pop("listeners", ()), JournalRecords())
        async with (
            store,
            ActorSystem(store=store, charts=self.charts, listeners=listeners, **options) as s,
        ):
            self._system = s
            try:
                yield s
            finally:
                self._system = None

    def __call__(self, app: Any) -> contextlib.AbstractAsyncContextManager[Any]:
        """The ASGI lifespan (``app`` is the framework's app object)."""
        return self._lifespan()

    @contextlib.asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        async with self.run():
            yield
