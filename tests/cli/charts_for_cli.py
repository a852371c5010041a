"""A class-DSL chart imported by the CLI tests as ``tests.cli.charts_for_cli:Door``."""

from statefleet import State, StateChart


class Door(StateChart):
    """A door that can be opened and closed."""

    closed = State(initial=True)
    opened = State()

    open = closed.to(opened)
    close = opened.to(closed)
