"""The XState dialect's API under its first path: ``from statefleet.formats.xstate import ...``.

The same names as :mod:`statefleet.compat.xstate`, where the front-end lives.
"""

# One list of names, kept where the front-end lives: this path re-exports it whole.
from statefleet.compat import xstate as _front
from statefleet.compat.xstate import *  # noqa: F403

__all__ = _front.__all__
