"""``State(invoke=...)`` and ``after`` on states: an order with a payment child service."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from statefleet import ActorSystem, VirtualClock
from statefleet.compat.psm import (
    IInvoke,
    InvalidDefinition,
    InvokeContext,
    State,
    StateChart,
    invoke_group,
)
from statefleet.compat.psm.contrib.timeout import timeout


class Payments:
    """A fake payment gateway: real code would call an HTTP API here."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.charged: list[tuple[str, int]] = []

    def charge(self, order_id: str, amount: int) -> str:
        if self.fail:
            raise RuntimeError("card declined")
        self.charged.append((order_id, amount))
        return f"tx-{order_id}"


GATEWAY = Payments()


def charge_card(ctx: InvokeContext, amount: int = 0) -> str:
    """The payment child service: the data of the event that entered ``paying``."""
    return GATEWAY.charge(ctx.machine.order_id, amount)


class OrderChart(StateChart):
    validate_disconnected_states = False

    pending = State(initial=True, after={30: "expire"})
    paying = State(invoke=charge_card)
    paid = State(final=True)
    failed = State()
    canceled = State(final=True)

    checkout = pending.to(paying)
    expire = pending.to(canceled)
    done_invoke_paying = paying.to(paid)
    error_execution = paying.to(failed)
    retry = failed.to(paying)

    def __init__(self, order_id: str = "o-1", **kwargs: Any) -> None:
        self.order_id = order_id
        self.tx: str | None = None
        self.error: str | None = None
        super().__init__(**kwargs)

    def on_enter_paid(self, data: str) -> None:
        self.tx = data

    def on_enter_failed(self, error: Exception) -> None:
        self.error = str(error)


@pytest.fixture(autouse=True)
def _gateway() -> None:
    GATEWAY.fail = False
    GATEWAY.charged.clear()


def test_the_invoked_service_runs_on_entry_and_its_result_is_done_invoke() -> None:
    order = OrderChart("o-7")
    order.checkout(amount=30)
    assert order.configuration_values == {"paid"}
    assert order.tx == "tx-o-7"
    assert GATEWAY.charged == [("o-7", 30)]


def test_a_failing_service_raises_error_execution() -> None:
    GATEWAY.fail = True
    order = OrderChart()
    order.checkout(amount=30)
    assert order.configuration_values == {"failed"}
    assert order.error == "card declined"
    GATEWAY.fail = False
    order.retry(amount=30)
    assert order.configuration_values == {"paid"}


def test_after_raises_its_event_once_the_state_was_active_that_long() -> None:
    order = OrderChart(clock=VirtualClock())
    order.advance(29)
    assert order.configuration_values == {"pending"}
    order.advance(1)
    assert order.configuration_values == {"canceled"}


def test_leaving_the_state_cancels_its_after_timer() -> None:
    order = OrderChart()
    order.checkout(amount=5)
    order.advance(60)
    assert order.configuration_values == {"paid"}


def test_invoke_decorator_and_on_invoke_convention() -> None:
    class Loader(StateChart):
        loading = State(initial=True)
        ready = State(final=True)
        done_invoke_loading = loading.to(ready)

        @loading.invoke
        def fetch(self) -> dict[str, int]:
            return {"rows": 3}

        def on_enter_ready(self, data: list[Any]) -> None:
            self.result = data

    sm = Loader()
    assert sm.configuration_values == {"ready"}
    assert sm.result == {"rows": 3}

    class Named(StateChart):
        loading = State(initial=True)
        ready = State(final=True)
        done_invoke_loading = loading.to(ready)

        def on_invoke_loading(self, ctx: InvokeContext) -> str:
            return ctx.state_id

    assert Named().configuration_values == {"ready"}


def test_a_chart_class_is_invoked_as_a_child_chart() -> None:
    class Child(StateChart):
        working = State(initial=True, after={5: "finish"})
        finished = State(final=True)
        finish = working.to(finished)

    class Parent(StateChart):
        waiting = State(initial=True, invoke=Child)
        done = State(final=True)
        done_invoke_waiting = waiting.to(done)

    sm = Parent()
    assert sm.configuration_values == {"waiting"}
    assert len(sm.snapshot().children) == 1
    sm.send("finish")  # the child's event, not the parent's: ignored
    assert sm.configuration_values == {"waiting"}
    sm.advance(5)  # the child finishes: done.invoke reaches the parent
    assert sm.configuration_values == {"done"}


async def _charge_async(ctx: InvokeContext, amount: int = 0) -> str:
    await anyio.sleep(0)  # real async work: only an actor awaits it
    return GATEWAY.charge(ctx.machine.order_id, amount)  # the instance, under actors too


class AsyncOrder(StateChart):
    order_id: str = "o-async"
    pending = State(initial=True)
    paying = State(invoke=_charge_async)
    paid = State(final=True)

    checkout = pending.to(paying)
    done_invoke_paying = paying.to(paid)


@pytest.mark.anyio
async def test_an_async_service_runs_under_actors() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(AsyncOrder(), id="order-1")
        await ref.send("checkout", amount=12)
        await ref.wait_for("paid")
        assert ref.status == "done"
    assert GATEWAY.charged == [("o-async", 12)]


def test_psm_timeout_helper_runs_on_the_instance_clock() -> None:
    class Waiter(StateChart):
        waiting = State(initial=True, invoke=timeout(5, on="expired"))
        polling = State(invoke=timeout(2))
        timed_out = State(final=True)

        expired = waiting.to(polling)
        done_invoke_polling = polling.to(timed_out)

    sm = Waiter()
    sm.advance(4.9)
    assert sm.configuration_values == {"waiting"}
    sm.advance(0.1)
    assert sm.configuration_values == {"polling"}
    sm.advance(2)
    assert sm.configuration_values == {"timed_out"}


def test_psm_timeout_refuses_a_bad_duration() -> None:
    with pytest.raises(InvalidDefinition, match="positive number of seconds"):
        timeout(0)
    with pytest.raises(InvalidDefinition, match="event name"):
        timeout(1, on="")


class AppLoader(StateChart):
    loading = State(initial=True)
    ready = State(final=True)
    done_invoke_loading = loading.to(ready)

    def on_invoke_loading(self, config_path: str = "", **kwargs: Any) -> dict[str, str]:
        """config_path comes from the constructor: AppLoader(config_path=...)."""
        return {"theme": "dark", "from": config_path}

    def on_enter_ready(self, data: Any = None, **kwargs: Any) -> None:
        self.config = data


def test_constructor_keywords_reach_the_initial_state_and_its_invocation() -> None:
    sm = AppLoader(config_path="app.json")
    assert sm.configuration_values == {"ready"}
    assert sm.config == {"theme": "dark", "from": "app.json"}


def test_invoke_group_sends_one_done_with_every_result() -> None:
    class BatchLoader(StateChart):
        loading = State(initial=True, invoke=invoke_group(lambda: "hello", lambda: "world"))
        ready = State(final=True)
        done_invoke_loading = loading.to(ready)

        def on_enter_ready(self, data: Any = None) -> None:
            self.results = data

    assert BatchLoader().results == ["hello", "world"]


class FileReader:
    """An IInvoke handler class: one instance per invocation."""

    def run(self, ctx: InvokeContext) -> str:
        return f"read {ctx.machine.file_path}"


def test_iinvoke_classes_get_a_fresh_handler() -> None:
    class CSVLoader(StateChart):
        loading = State(initial=True, invoke=FileReader)
        ready = State(final=True)
        done_invoke_loading = loading.to(ready)

        def __init__(self, file_path: str, **kwargs: Any) -> None:
            self.file_path = file_path
            super().__init__(**kwargs)

        def on_enter_ready(self, data: Any = None) -> None:
            self.content = data

    assert isinstance(FileReader(), IInvoke)
    assert CSVLoader(file_path="a.csv").content == "read a.csv"


cancel_called: list[bool] = []
reader_started: list[anyio.Event] = []


class SlowReader:
    async def run(self, ctx: InvokeContext) -> None:
        reader_started[0].set()
        await anyio.sleep_forever()

    def on_cancel(self) -> None:
        cancel_called.append(True)


class CancelMachine(StateChart):
    loading = State(initial=True, invoke=SlowReader)
    stopped = State(final=True)
    cancel = loading.to(stopped)


@pytest.mark.anyio
async def test_leaving_the_state_cancels_an_async_handler_under_actors() -> None:
    cancel_called.clear()
    reader_started[:] = [anyio.Event()]
    async with ActorSystem(clock=VirtualClock()) as system:
        ref = system.spawn(CancelMachine.chart, id="loader")
        await reader_started[0].wait()  # the handler is running
        await ref.send("cancel")
        await ref.wait_for("stopped")
    assert cancel_called == [True]
