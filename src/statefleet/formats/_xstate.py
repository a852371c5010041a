"""Placeholder: being written."""

from typing import Any

from statefleet.core import Chart


def from_dict(*args: Any, **kwargs: Any) -> Chart:
    """Not written yet."""
    raise NotImplementedError


def from_json(*args: Any, **kwargs: Any) -> Chart:
    """Not written yet."""
    raise NotImplementedError
