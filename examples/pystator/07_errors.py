"""Seed 002, step 8: typed errors, as exceptions or in the result."""

from pathlib import Path

from statefleet import StatefleetError
from statefleet.formats.pystator import (
    ErrorCode,
    FSMError,
    GuardRegistry,
    GuardRejectedError,
    InvalidTransitionError,
    StateMachine,
    TerminalStateError,
    UndefinedTriggerError,
)

HERE = Path(__file__).parent
machine = StateMachine.from_yaml(HERE / "order_fsm_guarded.yaml")
machine.bind_guards(GuardRegistry({"is_full_fill": lambda ctx: ctx["fill_qty"] >= 100}))


def attempt(current_state: str, trigger: str, context: dict[str, int]) -> None:
    try:
        machine.process(current_state, trigger, context, raise_on_error=True)
    except GuardRejectedError as e:
        print(f"Guard '{e.guard_name}' blocked in state '{e.current_state}'")
    except TerminalStateError:
        print("Entity already in a terminal state")
    except FSMError as e:
        print(f"Error code: {e.code}")  # ErrorCode enum member
    else:
        print("ok")


attempt("open", "fill", {"fill_qty": 10})
attempt("filled", "fill", {"fill_qty": 100})
attempt("pending", "fill", {"fill_qty": 100})
attempt("open", "cancel", {})
attempt("open", "fill", {"fill_qty": 100})

# Or use the non-exception path:
result = machine.process("open", "fill", {"fill_qty": 10})
if not result.success:
    print(type(result.error).__name__)  # FSMError subclass
    print(result.metadata["reason"], result.metadata["guard_name"])

# Every FSMError is also a StatefleetError, with an ErrorCode
print(issubclass(InvalidTransitionError, StatefleetError), ErrorCode.UNDEFINED_TRIGGER.value)
print(isinstance(machine.process("open", "nope", {}).error, UndefinedTriggerError))
