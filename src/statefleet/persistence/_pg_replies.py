"""Replies sent to a node through PostgreSQL notifications (a cross-node ``ask``).

A notification carries at most 8000 bytes of text, so a reply (a snapshot may be larger) is
base64-encoded and split into numbered pieces, sent with one statement: PostgreSQL delivers
the notifications of one transaction together and in order, so the listener reassembles
them as they arrive. Pieces are text: ``"<key> <i> <n> <base64>"``.

Replies are a wake-up with a payload, not a queue: one sent while the listening connection
was down is lost (the asker's timeout, or its own look at the store, covers that).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable

__all__ = ["ReplyAssembler", "split_reply"]

log = logging.getLogger("statefleet.persistence")

_PIECE = 7000  # base64 characters per notification (PostgreSQL allows 8000 bytes)
_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
_MAX_PARTIAL = 256  # replies being reassembled at once (older ones are dropped)


def split_reply(key: str, payload: bytes) -> list[str]:
    """The notification texts that carry ``payload`` under ``key``."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"a reply key is 1-200 characters of [A-Za-z0-9_.:-], not {key!r}")
    text = base64.b64encode(payload).decode("ascii")
    pieces = [text[i : i + _PIECE] for i in range(0, len(text), _PIECE)] or [""]
    n = len(pieces)
    return [f"{key} {i} {n} {p}" for i, p in enumerate(pieces)]


class ReplyAssembler:
    """Reassembles the pieces of replies and hands each whole one to ``callback(key,
    payload)``; ``callback("", None)`` when replies may have been lost."""

    def __init__(self) -> None:
        self.callback: Callable[[str, bytes | None], None] | None = None
        self._partial: dict[str, list[str | None]] = {}

    def received(self, text: str) -> None:
        """One notification's text (malformed ones are ignored: anybody may notify)."""
        try:
            key, i_s, n_s, piece = text.split(" ", 3)
            i, n = int(i_s), int(n_s)
        except ValueError:
            log.warning("statefleet: a malformed reply notification was ignored")
            return
        if not (0 <= i < n <= 1 << 16) or not _KEY.fullmatch(key):
            log.warning("statefleet: a malformed reply notification was ignored")
            return
        parts = self._partial.get(key)
        if parts is None or len(parts) != n:
            if len(self._partial) >= _MAX_PARTIAL:
                del self._partial[next(iter(self._partial))]
            parts = self._partial[key] = [None] * n
        parts[i] = piece
        if any(p is None for p in parts):
            return
        del self._partial[key]
        try:
            payload = base64.b64decode("".join(p for p in parts if p is not None), validate=True)
        except (binascii.Error, ValueError):
            log.warning("statefleet: a reply notification that is not base64 was ignored")
            return
        if self.callback is not None:
            self.callback(key, payload)

    def lost(self) -> None:
        """The listening connection was made again: pieces in flight are gone."""
        self._partial.clear()
        if self.callback is not None:
            self.callback("", None)
