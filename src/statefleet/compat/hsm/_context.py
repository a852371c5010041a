"""The context of a running activity: the builder's cancellable context, waited on with anyio.

The builder's :class:`~statefleet.formats._builder.Context` waits with an asyncio event; the
machine started by ``hsm.start`` runs on any anyio backend (asyncio or trio), so the
contexts it hands to activities wait with an :class:`anyio.Event` instead.
"""

from __future__ import annotations

import anyio

from statefleet.formats._builder import Context as _BuilderContext

__all__ = ["ActivityContext"]


class ActivityContext(_BuilderContext):
    """The context a running activity receives as ``ctx`` (an ``hsm.Context``).

    A child of the machine's context, cancelled when the activity's state exits (or when the
    machine's context is cancelled): a long-running activity polls ``ctx.is_done()`` or
    ``await ctx.wait_done()``, on asyncio or trio.
    """

    async def wait_done(self) -> None:
        """Wait until the context is cancelled."""
        if self.is_done():
            return
        done = anyio.Event()
        self.add_done_callback(done.set)
        await done.wait()
