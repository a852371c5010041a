"""python-statemachine's async callbacks: ``await sm.send(...)`` in async code, plain calls in
sync code, as its async page shows."""

from __future__ import annotations

import anyio
import pytest

from statefleet.compat.psm import InvalidDefinition, State, StateChart, StateMachine


class AsyncStateMachine(StateMachine):
    initial = State("Initial", initial=True)
    final = State("Final", final=True)

    keep = initial.to.itself(internal=True)
    advance = initial.to(final)

    async def on_advance(self) -> int:
        return 42


def test_sync_code_gets_the_awaited_result() -> None:
    sm = AsyncStateMachine()
    assert sm.advance() == 42
    assert sm.current_state.id == "final"


@pytest.mark.anyio
async def test_async_code_awaits_send() -> None:
    sm = AsyncStateMachine()
    await sm.activate_initial_state()
    assert sm.current_state.id == "initial"
    await sm.keep()
    result = await sm.advance()
    assert result == 42
    assert sm.current_state.id == "final"


class Fetcher(StateChart):
    idle = State(initial=True)
    loading = State()
    loaded = State(final=True)
    failed = State(final=True)

    fetch = idle.to(loading)
    loaded_ = loading.to(loaded, event="done_loading")
    error_execution = loading.to(failed)

    log: list[str] = []

    async def on_enter_idle(self) -> None:
        await anyio.sleep(0)  # really suspends: only async code can run it
        self.log.append("idle ready")

    async def on_fetch(self, url: str) -> str:
        await anyio.sleep(0)
        self.log.append(f"fetched {url}")
        if url == "bad":
            raise ValueError("404")
        return "body"

    def after_fetch(self) -> None:
        self.raise_("done_loading")


@pytest.mark.anyio
async def test_async_callbacks_that_suspend_are_awaited_in_order() -> None:
    sm = Fetcher()
    assert await sm.fetch(url="/a") == "body"
    assert sm.log == ["idle ready", "fetched /a"]
    assert sm.configuration_values == {"loaded"}


@pytest.mark.anyio
async def test_an_async_callback_failure_is_error_execution() -> None:
    sm = Fetcher()
    await sm.activate_initial_state()
    sm.log.clear()
    await sm.send("fetch", url="bad")
    # the sync part of the macrostep reached ``loaded``: the failure arrives after it
    assert sm.log == ["fetched bad"]
    assert sm.configuration_values == {"loaded"}


class Ask(StateMachine):
    waiting = State(initial=True)
    answered = State(final=True)
    answer = waiting.to(answered)

    async def on_answer(self) -> None:
        raise RuntimeError("no answer")


@pytest.mark.anyio
async def test_a_state_machine_lets_async_errors_propagate() -> None:
    with pytest.raises(RuntimeError, match="no answer"):
        await Ask().answer()


def test_an_async_guard_is_a_definition_error() -> None:
    with pytest.raises(InvalidDefinition, match="'ready' is async: guards and validators"):

        class Gate(StateChart):
            closed = State(initial=True)
            opened = State(final=True)
            open = closed.to(opened, cond="ready")

            async def ready(self) -> bool:
                return True
