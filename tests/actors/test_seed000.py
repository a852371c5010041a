"""Seed 000's ResourceManager (python-statemachine's cleanup/finalize pattern) as an actor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from statefleet import ActorError, Event, State, StateChart
from statefleet.actors import ActorSystem
from statefleet.core import VirtualClock

pytestmark = pytest.mark.anyio


class ResourceManager(StateChart):
    """Seed 000, unchanged but for the import line."""

    idle = State("Idle", initial=True)
    working = State("Working")
    recovering = State("Recovering")

    start = idle.to(working)
    done = working.to(idle)
    recover = recovering.to(idle)

    error_execution = Event(working.to(recovering), id="error.execution")

    def __init__(self, job: Callable[[], Any] | None = None) -> None:
        self.job = job or (lambda: None)
        super().__init__()

    def on_enter_working(self) -> None:
        print("  [working] resource acquired")
        self.job()
        self.raise_("done")

    def after_start(self) -> None:
        print("  [after_start] resource released")

    def on_enter_recovering(self, error: Any = None, **kwargs: Any) -> None:
        print(f"  [recovering] error caught: {error}")
        self.raise_("recover")

    def on_enter_idle(self) -> None:
        print("  [idle] ready")


def good_job() -> None:
    print("  [working] processing... done!")


def bad_job() -> None:
    print("  [working] processing... oops!")
    raise RuntimeError("something went wrong")


async def test_success_and_failure_paths_as_actors(capsys: pytest.CaptureFixture[str]) -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        ok = system.spawn(ResourceManager(job=good_job), id="ok")
        snap = await ok.ask("start")
        assert snap.configuration == ("idle",)
        bad = system.spawn(ResourceManager(job=bad_job), id="bad")
        snap = await bad.ask("start")
        assert snap.configuration == ("idle",)
    assert capsys.readouterr().out.splitlines() == [
        "  [idle] ready",  # the instance's initial entry, before the actor takes it over
        "  [working] resource acquired",
        "  [working] processing... done!",
        "  [after_start] resource released",
        "  [idle] ready",
        "  [idle] ready",
        "  [working] resource acquired",
        "  [working] processing... oops!",
        "  [after_start] resource released",
        "  [recovering] error caught: something went wrong",
        "  [idle] ready",
    ]


async def test_the_instance_follows_its_actor() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        sm = ResourceManager(job=bad_job)
        ref = system.spawn(sm)
        sm.send("start")  # goes to the actor's mailbox
        await system.wait_idle()
        assert sorted(sm.configuration_values) == ["idle"]
        assert ref.snapshot().version == sm.snapshot().version
        with pytest.raises(ActorError, match="already driven by an actor"):
            system.spawn(sm)
