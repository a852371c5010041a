"""A class-DSL chart imported by the CLI tests as ``tests.cli.charts_for_cli:Door``."""

import os
from pathlib import Path

from statefleet import Chart, State, StateChart, from_dict


class Door(StateChart):
    """A door that can be opened and closed."""

    closed = State(initial=True)
    opened = State()

    open = closed.to(opened)
    close = opened.to(closed)


# ``module:attribute`` references the CLI tests use: one documented factory, and callables
# that are not factories (they must never be called)
def door_chart() -> Chart:
    """A documented chart factory: a function annotated to return a Chart."""
    return from_dict({"id": "door", "initial": "closed", "states": {"closed": {}}})


def broken_factory() -> Chart:
    """A factory that fails."""
    raise RuntimeError("no door today")


def needs_arguments(name: str) -> Chart:
    """Annotated, but it cannot be called without arguments."""
    raise AssertionError("called")


def touch_marker() -> None:
    """Not a factory: calling it leaves a file behind."""
    Path(os.environ["STATEFLEET_TEST_MARKER"]).write_text("called")
