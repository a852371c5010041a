"""Placeholder: being written."""

from typing import Any

from statefleet.core import Chart


def from_scxml(*args: Any, **kwargs: Any) -> Chart:
    """Not written yet."""
    raise NotImplementedError
