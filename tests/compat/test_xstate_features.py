"""xstate-statemachine's machine view, maxIterations, strict mode, event schemas and the
built-in actions, used the way its docs and API show (imports changed to
``statefleet.compat.xstate``)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from statefleet import ActorSystem, InfiniteLoopError, VirtualClock
from statefleet.compat.xstate import (
    Interpreter,
    InvalidConfigError,
    InvalidEventPayloadError,
    MachineLogic,
    MachineNode,
    PluginBase,
    RunawayChainError,
    SyncInterpreter,
    UnknownEventError,
    XStateMachineError,
    assign,
    cancel,
    choose,
    create_machine,
    emit,
    enqueue_actions,
    forward_to,
    log,
    pure,
    raise_,
    send_parent,
    send_to,
    spawn_child,
    stop_child,
)

ORDER = {
    "id": "order",
    "initial": "cart",
    "context": {"items": 0},
    "states": {
        "cart": {
            "tags": ["editable"],
            "meta": {"title": "Cart"},
            "entry": ["greet"],
            "on": {
                "ADD": {"actions": ["addItem"]},
                "CHECKOUT": [{"target": "payment", "guard": "hasItems"}, {"target": "cart"}],
            },
        },
        "payment": {
            "id": "pay",
            "initial": "pending",
            "states": {
                "pending": {"on": {"PAID": "#order.done", "audit.*": "pending"}},
                "failed": {"type": "final"},
            },
        },
        "done": {"type": "final", "description": "all paid"},
    },
}

ORDER_LOGIC = MachineLogic(
    actions={
        "greet": lambda i, c, e, a: None,
        "addItem": lambda i, c, e, a: c.update(items=c["items"] + 1),
    },
    guards={"hasItems": lambda c, e: c["items"] > 0},
)


# -- machine.states and get_state_by_id -------------------------------------------------------
def test_machine_states_and_get_state_by_id_describe_the_config() -> None:
    machine = create_machine(ORDER, logic=ORDER_LOGIC)
    assert isinstance(machine, MachineNode)
    assert list(machine.states) == ["cart", "payment", "done"]
    cart = machine.states["cart"]
    assert (cart.id, cart.key, cart.type, cart.depth) == ("order.cart", "cart", "atomic", 1)
    assert cart.parent is machine.root_node and cart.parent.id == "order"
    assert cart.tags == {"editable"} and cart.meta == {"title": "Cart"}
    assert [a.type for a in cart.entry] == ["greet"]
    checkout = cart.on["CHECKOUT"]
    assert [(t.target_str, t.guard) for t in checkout] == [("payment", "hasItems"), ("cart", None)]
    assert [a.type for a in cart.on["ADD"][0].actions] == ["addItem"]
    payment = machine.get_state_by_id("order.payment")
    assert payment is not None
    assert (payment.type, payment.initial, payment.custom_id) == ("compound", "pending", "pay")
    assert payment.states["failed"].is_final and not payment.is_atomic
    assert machine.get_state_by_id("order.payment.pending") is payment.states["pending"]
    assert machine.get_state_by_id("pay") is payment  # a state's own id
    done = machine.get_state_by_id("order.done")
    assert done is not None and done.is_final and done.description == "all paid"
    # xstate-statemachine's contract on the machine: None, not an exception
    assert machine.get_state_by_id("order.nope") is None
    assert machine.get_state_by_id("other.cart") is None
    # each view knows the compiled state the interpreters name
    interp = SyncInterpreter(machine).start()
    interp.send("ADD")
    interp.send("CHECKOUT")
    leaf = machine.get_state_by_id("order.payment.pending")
    assert leaf is not None and leaf.node is not None
    assert interp.current_state_ids == {leaf.node.id}


# -- maxIterations ---------------------------------------------------------------------------
def _countdown(limit: int | None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "id": "countdown",
        "initial": "idle",
        "context": {"n": 0},
        "states": {
            "idle": {
                "on": {
                    "START": {"actions": [assign(lambda a: {"n": a["event"].data["n"]})]},
                    "TICK": {"target": "idle", "actions": "next"},
                }
            }
        },
    }
    if limit is not None:
        config["maxIterations"] = limit
    return config


def _next(interpreter: Any, context: dict[str, Any], event: Any, action: Any) -> None:
    if context["n"] > 0:
        context["n"] -= 1
        interpreter.raise_("TICK")


def test_max_iterations_bounds_a_chain_of_raised_events() -> None:
    logic = MachineLogic(actions={"next": _next})
    machine = create_machine(_countdown(20), logic=logic)
    assert machine.max_iterations == 20
    interp = SyncInterpreter(machine).start()
    interp.send("START", n=10)
    interp.send("TICK")  # 11 microsteps: under the bound
    assert interp.context["n"] == 0 and interp.status == "running"
    interp.send("START", n=50)
    with pytest.raises(RunawayChainError) as caught:
        interp.send("TICK")
    err = caught.value
    assert isinstance(err, XStateMachineError) and isinstance(err, InfiniteLoopError)
    assert (err.machine_id, err.limit) == ("countdown", 20)
    assert "'countdown'" in str(err) and "maxIterations=20" in str(err)
    # the same machine without the key takes statefleet's default bound (10,000)
    big = SyncInterpreter(create_machine(_countdown(None), logic=logic)).start()
    big.send("START", n=50)
    big.send("TICK")
    assert big.context["n"] == 0


LOOP = {
    "id": "loop",
    "initial": "a",
    "maxIterations": 25,
    "states": {"a": {"on": {"GO": "b"}}, "b": {"always": "c"}, "c": {"always": "b"}},
}


def test_max_iterations_stops_mutually_targeting_always_transitions() -> None:
    interp = SyncInterpreter(create_machine(LOOP)).start()
    with pytest.raises(RunawayChainError, match="'loop' exceeded maxIterations=25"):
        interp.send("GO")
    assert interp.status == "error"


@pytest.mark.anyio
async def test_max_iterations_under_the_async_interpreter() -> None:
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(create_machine(LOOP), system=system).start()
        with pytest.raises(RunawayChainError, match="maxIterations=25"):
            await service.send("GO")
        await service.stop()


@pytest.mark.parametrize("bad", [0, -3, 2.5, "100", True])
def test_a_bad_max_iterations_is_a_config_error(bad: Any) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        create_machine({**_countdown(None), "maxIterations": bad})
    assert caught.value.path == "maxIterations"


# -- strict mode and event schemas -------------------------------------------------------------
def test_strict_mode_refuses_undeclared_events() -> None:
    machine = create_machine({**ORDER, "strict": True}, logic=ORDER_LOGIC)
    interp = SyncInterpreter(machine).start()
    with pytest.raises(UnknownEventError) as caught:
        interp.send("CHEKOUT")
    err = caught.value
    assert (err.event_type, err.machine_id) == ("CHEKOUT", "order")
    assert "did you mean 'CHECKOUT'" in str(err) and "PAID" in err.known
    assert interp.current_state_ids == {"order.cart"}
    interp.send("PAID")  # declared (elsewhere in the machine) but not handled here: a no-op
    interp.send("ADD")
    interp.send("CHECKOUT")
    interp.send("audit.checked")  # under a declared "audit.*"
    assert interp.current_state_ids == {"order.payment.pending"}
    # the interpreter's own setting wins over the config's, both ways
    SyncInterpreter(machine, strict=False).start().send("ANYTHING")
    loose = SyncInterpreter(create_machine(ORDER, logic=ORDER_LOGIC), strict=True).start()
    with pytest.raises(UnknownEventError):
        loose.send("ANYTHING")


def test_strict_mode_checks_raised_events_too() -> None:
    config = {
        "id": "m",
        "strict": True,
        "initial": "a",
        "states": {
            "a": {"on": {"GO": {"actions": [raise_("TYPO")]}, "error.*": "failed"}},
            "failed": {},
        },
    }
    interp = SyncInterpreter(create_machine(config)).start()
    interp.send("GO")  # the refused raise is the action's error: error.execution
    assert interp.current_state_ids == {"m.failed"}


class PositiveAmount:
    """A schema object, as pydantic-like validators are passed (anything with validate())."""

    def validate(self, payload: dict[str, Any]) -> None:
        if not isinstance(payload.get("amount"), int) or payload["amount"] <= 0:
            raise ValueError("amount must be a positive integer")


def test_event_schemas_validate_payloads_without_strict() -> None:
    def needs_sku(payload: dict[str, Any]) -> None:
        if "sku" not in payload:
            raise KeyError("sku")

    config = {
        "id": "shop",
        "initial": "open",
        "context": {"total": 0, "skus": []},
        "states": {
            "open": {
                "on": {
                    "PAY": {"actions": [assign(lambda a: {"total": a["event"].data["amount"]})]},
                    "ADD": {"actions": "remember"},
                }
            }
        },
    }
    logic = MachineLogic(actions={"remember": lambda i, c, e, a: c["skus"].append(e.data["sku"])})
    machine = create_machine(
        config, logic=logic, event_schemas={"PAY": PositiveAmount(), "ADD": needs_sku}
    )
    interp = SyncInterpreter(machine).start()
    for payload in ({}, {"amount": -5}, {"amount": "10"}):
        with pytest.raises(InvalidEventPayloadError) as caught:
            interp.send("PAY", **payload)
        assert caught.value.event_type == "PAY"
        assert isinstance(caught.value.cause, ValueError)
    with pytest.raises(InvalidEventPayloadError, match="'ADD'"):
        interp.send({"type": "ADD", "qty": 1})
    assert interp.context == {"total": 0, "skus": []}  # nothing refused was processed
    interp.send("PAY", amount=30)
    interp.send("ADD", sku="A-1")
    interp.send("UNDECLARED")  # not strict: ignored as XState does
    assert interp.context == {"total": 30, "skus": ["A-1"]}


def test_a_bad_schema_is_a_config_error() -> None:
    with pytest.raises(InvalidConfigError) as caught:
        create_machine(ORDER, logic=ORDER_LOGIC, event_schemas={"ADD": 42})
    assert caught.value.path == "event_schemas.ADD"
    with pytest.raises(InvalidConfigError):
        create_machine(ORDER, logic=ORDER_LOGIC, event_schemas=["ADD"])  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_strict_and_schemas_under_the_async_interpreter() -> None:
    machine = create_machine(
        {**ORDER, "strict": True}, logic=ORDER_LOGIC, event_schemas={"ADD": PositiveAmount()}
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(machine, system=system).start()
        with pytest.raises(UnknownEventError):
            await service.send("NOPE")
        with pytest.raises(InvalidEventPayloadError):
            await service.send("ADD")
        await service.send("ADD", amount=1)
        assert service.context["items"] == 1
        await service.stop()


# -- built-in actions --------------------------------------------------------------------------
WORKER = {
    "id": "worker",
    "initial": "idle",
    "context": {"jobs": 0},
    "states": {
        "idle": {
            "on": {
                "JOB": {
                    "actions": [
                        assign({"jobs": lambda a: a["context"]["jobs"] + 1}),
                        send_parent(lambda a: {"type": "JOB_DONE", "n": a["context"]["jobs"]}),
                    ]
                }
            }
        }
    },
}


def _boss(worker: Any) -> Any:
    config = {
        "id": "boss",
        "initial": "running",
        "context": {"done": [], "log": []},
        "states": {
            "running": {
                "entry": [spawn_child("worker", actor_id="w1", input={"jobs": 10})],
                "on": {
                    "WORK": {"actions": [send_to("w1", {"type": "JOB"})]},
                    "JOB": {"actions": [forward_to("w1")]},
                    "JOB_DONE": {
                        "actions": [
                            assign(lambda a: {"done": [*a["context"]["done"], a["event"]["n"]]})
                        ]
                    },
                    "HIRE": {"actions": ["spawn_worker"]},
                    "STOP": {"actions": [stop_child("w1")]},
                },
            }
        },
    }
    return create_machine(config, logic=MachineLogic(services={"worker": worker}))


def test_spawn_child_send_to_send_parent_and_stop_child() -> None:
    worker = create_machine(WORKER)
    interp = SyncInterpreter(_boss(worker)).start()
    child = interp.children["w1"]
    assert child.context == {"jobs": 0, "input": {"jobs": 10}} and child.input == {"jobs": 10}
    interp.send("WORK")  # sendTo
    interp.send("JOB")  # forwardTo
    assert child.context["jobs"] == 2
    assert interp.context["done"] == [1, 2]  # JOB_DONE came back through sendParent
    interp.send("STOP")
    assert "w1" not in interp.children and child.stopped
    interp.send("WORK")  # sendTo an actor that is gone: the action fails, as an error event
    assert interp.context["done"] == [1, 2]
    interp.send("HIRE")  # an action spawn_<service> spawns that service
    assert [c.chart.id for c in interp.children.values()] == ["worker"]


def test_delayed_raise_and_send_to_self_with_cancel() -> None:
    config = {
        "id": "timer",
        "initial": "idle",
        "context": {"pings": 0},
        "states": {
            "idle": {
                "on": {
                    "ARM": {"actions": [raise_({"type": "PING"}, delay=500, send_id="ping")]},
                    "ARM_SELF": {"actions": [send_to("timer", "PING", delay="slow", send_id="s")]},
                    "DISARM": {"actions": [cancel("ping"), cancel("s")]},
                    "PING": {"actions": [assign({"pings": lambda a: a["context"]["pings"] + 1})]},
                }
            }
        },
    }
    machine = create_machine(config, logic=MachineLogic(delays={"slow": 2000}))
    interp = SyncInterpreter(machine).start()
    interp.send("ARM")
    interp.advance(0.499)
    assert interp.context["pings"] == 0
    interp.advance(0.001)
    assert interp.context["pings"] == 1
    interp.send("ARM")
    interp.send("ARM_SELF")
    interp.send("DISARM")
    interp.advance(5)
    assert interp.context["pings"] == 1
    interp.send("ARM_SELF")
    interp.advance(2)
    assert interp.context["pings"] == 2


def test_pure_choose_and_enqueue_actions() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 0, "log": []},
        "states": {
            "a": {
                "on": {
                    "PURE": {
                        "actions": [
                            pure(
                                lambda a: (
                                    [assign({"n": a["event"]["n"]}), "note"]
                                    if a["event"]["n"]
                                    else None
                                )
                            )
                        ]
                    },
                    "CHOOSE": {
                        "actions": [
                            choose(
                                [
                                    {"guard": "big", "actions": [assign({"size": "big"})]},
                                    {"guard": lambda c, e: c["n"] > 0, "actions": "small"},
                                    {"actions": [log("nothing")]},
                                ]
                            )
                        ]
                    },
                    "ENQUEUE": {
                        "actions": [
                            enqueue_actions(
                                lambda a: (
                                    a["enqueue"].assign({"checked": a["check"]("big")}),
                                    a["enqueue"]("note"),
                                )
                            )
                        ]
                    },
                }
            }
        },
    }
    logic = MachineLogic(
        actions={
            "note": lambda i, c, e, a: c["log"].append("note"),
            "small": lambda c, e: c.update(size="small"),
        },
        guards={"big": lambda c, e: c["n"] > 10},
    )
    interp = SyncInterpreter(create_machine(config, logic=logic)).start()
    interp.send("PURE", n=0)
    assert interp.context == {"n": 0, "log": []}
    interp.send("CHOOSE")
    assert "size" not in interp.context
    interp.send("PURE", n=5)
    interp.send("CHOOSE")
    assert interp.context["size"] == "small" and interp.context["log"] == ["note"]
    interp.send("PURE", n=50)
    interp.send("CHOOSE")
    interp.send("ENQUEUE")
    assert interp.context["size"] == "big" and interp.context["checked"] is True
    assert interp.context["log"] == ["note", "note", "note"]


def test_builtin_functions_take_the_context_event_mapping(caplog: pytest.LogCaptureFixture) -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"count": 0},
        "states": {
            "a": {
                "on": {
                    "INC": {
                        "actions": [
                            assign(lambda a: {"count": a["context"]["count"] + a["event"]["by"]}),
                            log(lambda a: f"count={a['context']['count']}", label="m"),
                        ]
                    },
                }
            }
        },
    }
    interp = SyncInterpreter(create_machine(config)).start()
    with caplog.at_level(logging.INFO, logger="statefleet.xstate"):
        interp.send("INC", by=3)
    assert interp.context["count"] == 3 and "m: count=3" in caplog.text


def test_a_builtin_alias_the_logic_implements_is_the_users() -> None:
    seen: list[str] = []
    config = {"id": "m", "initial": "a", "states": {"a": {"entry": ["log", "sendTo"]}}}

    class Logic:
        def log(self, interpreter: Any, context: Any, event: Any, action: Any) -> None:
            seen.append("mine")

        def send_to(self, interpreter: Any, context: Any, event: Any, action: Any) -> None:
            seen.append("mine too")

    SyncInterpreter(create_machine(config, logic_providers=[Logic()])).start()
    assert seen == ["mine", "mine too"]


# -- the async Interpreter: on(), subscribe(), built-ins on actors ------------------------------
@pytest.mark.anyio
async def test_async_interpreter_on_subscribe_and_child_actors() -> None:
    boss = _boss(create_machine(WORKER))
    emitter = create_machine(
        {
            "id": "job",
            "initial": "running",
            "states": {
                "running": {
                    "on": {"FINISH": {"target": "done", "actions": [emit({"type": "job.done"})]}}
                },
                "done": {"type": "final"},
            },
        }
    )
    async with ActorSystem(clock=VirtualClock()) as system:
        service = await Interpreter(boss, system=system).start()
        assert set(service.children) == {"w1"}
        worker = service.children["w1"]
        await service.send("WORK")  # sendTo
        await service.send("JOB")  # forwardTo
        await worker.wait_for(lambda snap: snap.context["jobs"] == 2)
        # each JOB came back as JOB_DONE (sendParent)
        await service.ref.wait_for(lambda snap: snap.context["done"] == [1, 2])
        await service.send("STOP")
        assert worker.status == "stopped" and not service.children
        await service.stop()

        job = await Interpreter(emitter, system=system).start()
        got: list[Any] = []
        states: list[Any] = []
        off = job.on("job.done", lambda e: got.append(e.type))
        job.subscribe(lambda interp: states.append(set(interp.current_state_ids)))
        await job.send("FINISH")
        assert got == ["job.done"] and states == [{"job.done"}]
        off()
        await job.stop()
        assert len(states) == 2  # stop notifies subscribers too


@pytest.mark.anyio
async def test_delayed_raise_and_cancel_under_actors() -> None:
    config = {
        "id": "t",
        "initial": "a",
        "context": {"pings": 0},
        "states": {
            "a": {
                "on": {
                    "ARM": {"actions": [raise_("PING", delay=500, send_id="p")]},
                    "ARM_LONG": {"actions": [raise_("PING", delay=1000, send_id="q")]},
                    "DISARM": {"actions": [cancel("p")]},
                    "PING": {"actions": [assign({"pings": lambda a: a["context"]["pings"] + 1})]},
                }
            }
        },
    }
    clock = VirtualClock()
    async with ActorSystem(clock=clock) as system:
        service = await Interpreter(create_machine(config), system=system).start()
        await service.send("ARM")
        await service.ref.wait_for(lambda snap: snap.context["pings"] == 1)
        assert clock.now() == pytest.approx(0.5)  # it waited its delay on the system clock
        await service.send("ARM")
        await service.send("DISARM")
        await service.send("ARM_LONG")
        await service.ref.wait_for(lambda snap: snap.context["pings"] == 2)
        assert clock.now() == pytest.approx(1.5)  # the cancelled one (due at 1.0) never fired
        await service.stop()


# -- targets as xstate-statemachine resolves them ------------------------------------------------
LENIENT = {
    "id": "flow",
    "initial": "work",
    "states": {
        "work": {
            "initial": "step",
            "states": {
                "step": {"on": {"FINISH": "done", "SKIP": ".other", "BACK": ".step"}},
                "other": {"always": {"target": "work"}},
            },
        },
        "done": {"type": "final"},
    },
}


def test_targets_only_xstate_statemachine_resolves_and_strict_targets() -> None:
    machine = create_machine(LENIENT)
    interp = SyncInterpreter(machine).start()
    interp.send("SKIP")  # ".other" is no child of step: its sibling, as the peer reads it
    assert interp.current_state_ids == {"flow.work.step"}  # other -> "work" (an ancestor)
    interp.send("FINISH")  # "done" is no sibling of step: found among the ancestors' children
    assert interp.current_state_ids == {"flow.done"} and interp.done
    step = machine.get_state_by_id("flow.work.step")
    assert step is not None and step.on["FINISH"][0].target_str == "done"  # as written
    with pytest.raises(InvalidConfigError, match="unknown target 'done'"):
        create_machine({**LENIENT, "strictTargets": True})


# -- bad input ----------------------------------------------------------------------------------
def test_hostile_configs_and_snapshots_are_typed_errors() -> None:
    deep: dict[str, Any] = {"id": "m", "initial": "s0", "states": {}}
    node = deep
    for i in range(2000):  # deeper than any reader walks
        child: dict[str, Any] = {"initial": f"s{i + 1}", "states": {}}
        node["states"][f"s{i}"] = child
        node = child
    with pytest.raises(InvalidConfigError, match="deeper than the limit"):
        create_machine(deep)
    looped: dict[str, Any] = {"id": "m", "initial": "a", "states": {"a": {}}}
    looped["states"]["a"]["states"] = looped["states"]  # a config inside itself
    with pytest.raises(InvalidConfigError):
        create_machine(looped)
    for not_a_config in ("m.json", None, [], 5):
        with pytest.raises(InvalidConfigError, match="a machine config is a dict"):
            create_machine(not_a_config)  # type: ignore[arg-type]
    machine = create_machine({"id": "m", "initial": "a", "states": {"a": {}}})
    from statefleet import SnapshotError

    for bad in ("{", "[1]", '{"state_ids": "m.a"}', "[" * 5000 + "]" * 5000):
        with pytest.raises(SnapshotError):
            SyncInterpreter.from_snapshot(bad, machine)
    too_deep = '{"state_ids": ["m.a"], "context": {"x": ' + "[" * 500 + "]" * 500 + "}}"
    with pytest.raises(SnapshotError):
        SyncInterpreter.from_snapshot(too_deep, machine)


def test_an_endless_delay_is_an_error_event_not_a_timer_at_infinity() -> None:
    config = {
        "id": "t",
        "initial": "a",
        "states": {
            "a": {"on": {"ARM": {"actions": [raise_("PING", delay=10**400)]}, "error.*": "failed"}},
            "failed": {},
        },
    }
    interp = SyncInterpreter(create_machine(config)).start()
    interp.send("ARM")
    assert interp.current_state_ids == {"t.failed"} and interp.session.next_due is None


def test_send_is_external_and_raise_internal() -> None:
    from statefleet.compat.xstate import send

    config = {
        "id": "m",
        "initial": "a",
        "context": {"seen": []},
        "states": {
            "a": {
                "on": {
                    "GO": {"actions": [send("EXTERNAL"), raise_("INTERNAL")]},
                    "LATER": {"actions": [send({"type": "EXTERNAL"}, delay=100, id="s")]},
                    "EXTERNAL": {"actions": "note"},
                    "INTERNAL": {"actions": "note"},
                    "NEXT": {"actions": "note"},
                }
            }
        },
    }
    logic = MachineLogic(actions={"note": lambda i, c, e, a: c["seen"].append(e.type)})
    interp = SyncInterpreter(create_machine(config, logic=logic)).start()
    interp.send("GO")
    assert interp.context["seen"] == ["INTERNAL", "EXTERNAL"]
    interp.send("LATER")
    interp.send("NEXT")
    interp.advance(0.1)
    assert interp.context["seen"] == ["INTERNAL", "EXTERNAL", "NEXT", "EXTERNAL"]


class HookRecorder(PluginBase):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def on_action_execute(self, interpreter: Any, action: Any) -> None:
        self.calls.append(("action", action.type))

    def on_action_error(self, interpreter: Any, action: Any, error: Exception) -> None:
        self.calls.append(("action error", action.type, str(error)))

    def on_service_start(self, interpreter: Any, invocation: Any) -> None:
        self.calls.append(("service", invocation.src))

    def on_service_done(self, interpreter: Any, invocation: Any, result: Any) -> None:
        self.calls.append(("service done", invocation.src, result))


HOOKED = {
    "id": "h",
    "initial": "load",
    "context": {},
    "states": {
        "load": {"invoke": {"src": "fetch", "onDone": {"target": "ready", "actions": "keep"}}},
        "ready": {"on": {"BAD": {"actions": ["explode", assign({"after": True})]}}},
    },
}


def _hooked_logic() -> MachineLogic:
    async def fetch(interpreter: Any, context: Any, event: Any) -> int:
        return 7

    def explode(context: Any, event: Any) -> None:
        raise ValueError("nope")

    return MachineLogic(
        services={"fetch": fetch},
        actions={"keep": lambda i, c, e, a: c.update(got=e.data), "explode": explode},
    )


@pytest.mark.anyio
async def test_action_and_service_hooks_under_the_async_interpreter() -> None:
    rec = HookRecorder()
    async with ActorSystem(clock=VirtualClock()) as system:
        service = (
            await Interpreter(create_machine(HOOKED, logic=_hooked_logic()), system=system)
            .use(rec)
            .start()
        )
        await service.ref.wait_for("h.ready")
        await service.send("BAD")
        assert service.context == {"got": 7}  # the failing action stopped its block
        await service.stop()
    assert rec.calls == [
        ("service", "fetch"),
        ("service done", "fetch", 7),
        ("action", "keep"),
        ("action", "explode"),
        ("action error", "explode", "nope"),
    ]


@pytest.mark.anyio
async def test_async_interpreter_snapshots_resume_under_either_interpreter() -> None:
    import json

    machine = create_machine(ORDER, logic=ORDER_LOGIC)
    async with ActorSystem(clock=VirtualClock()) as system:
        first = await Interpreter(machine, system=system, id="o-1").start()
        await first.send("ADD")
        await first.send("ADD")
        saved = first.get_snapshot()
        await first.stop()
        assert json.loads(saved)["state_ids"] == ["order.cart"]
        again = await Interpreter.from_snapshot(saved, machine, system=system, id="o-2").start()
        assert again.context["items"] == 2
        await again.send("CHECKOUT")
        assert again.current_state_ids == {"order.payment.pending"}
        await again.stop()
    sync = SyncInterpreter.from_snapshot(saved, machine)
    assert sync.context["items"] == 2 and sync.current_state_ids == {"order.cart"}
