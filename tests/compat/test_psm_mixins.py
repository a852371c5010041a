"""python-statemachine's ``MachineMixin``: a domain model that creates its machine."""

from __future__ import annotations

import pytest

from statefleet.compat.psm import State, StateMachine
from statefleet.compat.psm.exceptions import InvalidDefinition
from statefleet.compat.psm.mixins import MachineMixin


class CampaignMachineWithKeys(StateMachine):
    "A workflow machine"

    draft = State("Draft", initial=True, value=1)
    producing = State("Being produced", value=2)
    closed = State("Closed", value=3, final=True)
    cancelled = State("Cancelled", value=4, final=True)

    add_job = draft.to.itself() | producing.to.itself()
    produce = draft.to(producing)
    deliver = producing.to(closed)
    cancel = cancelled.from_(draft, producing)


class Workflow(MachineMixin):
    state_machine_name = f"{__name__}.CampaignMachineWithKeys"
    state_machine_attr = "sm"
    state_field_name = "workflow_step"

    workflow_step = 1


def test_the_model_creates_its_machine_and_holds_the_state_value() -> None:
    model = Workflow()
    assert isinstance(model.sm, CampaignMachineWithKeys)  # type: ignore[attr-defined]
    assert model.workflow_step == 1
    assert model.sm.current_state == model.sm.draft  # type: ignore[attr-defined]
    model.sm.cancel()  # type: ignore[attr-defined]
    assert model.workflow_step == 4


def test_a_stored_state_value_resumes_the_machine() -> None:
    class Stored(Workflow):
        workflow_step = 2
        bind_events_as_methods = True

    model = Stored()
    assert model.sm.configuration_values == {2}  # type: ignore[attr-defined]
    model.deliver()  # type: ignore[attr-defined]
    assert model.workflow_step == 3


def test_a_bad_machine_name_is_a_definition_error() -> None:
    class Broken(MachineMixin):
        state_machine_name = f"{__name__}.Nope"

    with pytest.raises(InvalidDefinition, match="cannot find state machine class"):
        Broken()
    with pytest.raises(InvalidDefinition, match="not a valid state machine name"):
        MachineMixin()
