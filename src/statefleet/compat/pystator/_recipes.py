"""pystator's recipes: helpers for inline guards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["flatten_context_for_guards"]


def flatten_context_for_guards(context: Mapping[str, Any], sep: str = "_") -> dict[str, Any]:
    """A copy of ``context`` with nested mappings also flattened into top-level names
    (``{"order": {"qty": 5}}`` adds ``order_qty``), for inline ``expr:`` guards."""
    out: dict[str, Any] = dict(context)

    def walk(prefix: str, value: Mapping[str, Any]) -> None:
        for k, v in value.items():
            key = f"{prefix}{sep}{k}"
            out.setdefault(key, v)
            if isinstance(v, Mapping):
                walk(key, v)

    for k, v in context.items():
        if isinstance(v, Mapping):
            walk(str(k), v)
    return out
