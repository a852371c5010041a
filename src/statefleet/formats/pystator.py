"""pystator's API under its first path: ``from statefleet.formats.pystator import ...``.

The same names as :mod:`statefleet.compat.pystator`, where the front-end lives.
"""

# One list of names, kept where the front-end lives: this path re-exports it whole.
from statefleet.compat import pystator as _front
from statefleet.compat.pystator import *  # noqa: F403

__all__ = _front.__all__
