"""Placeholder: being written."""

from typing import Any

from statefleet.core import Chart


def load(*args: Any, **kwargs: Any) -> Chart:
    """Not written yet."""
    raise NotImplementedError
