"""Cleanup / finalize pattern (seed 000), running on statefleet's class DSL.

The program is python-statemachine 3's example unchanged except its import line:
``after_start`` is a finalize hook that runs after the ``start`` transition whether the job
succeeds or fails, and an ``error.execution`` transition recovers within the same macrostep.
"""

from statefleet import Event, State, StateChart


class ResourceManager(StateChart):
    """A machine that acquires a resource, processes, and always releases it.

    ``after_start`` acts as the **finalize** callback — it runs after the
    ``start`` transition regardless of whether the job succeeds or fails.

    On failure, ``error.execution`` additionally transitions to ``recovering``
    for error-specific handling before auto-recovering back to ``idle``.
    """

    idle = State("Idle", initial=True)
    working = State("Working")
    recovering = State("Recovering")

    start = idle.to(working)
    done = working.to(idle)
    recover = recovering.to(idle)

    error_execution = Event(
        working.to(recovering),
        id="error.execution",
    )

    def __init__(self, job=None):
        self.job = job or (lambda: None)
        super().__init__()

    def on_enter_working(self):
        print("  [working] resource acquired")
        self.job()
        self.raise_("done")

    # --- Finalize (runs on both success and failure) ---

    def after_start(self):
        print("  [after_start] resource released")

    # --- Error-specific handling ---

    def on_enter_recovering(self, error=None, **kwargs):
        print(f"  [recovering] error caught: {error}")
        self.raise_("recover")

    def on_enter_idle(self):
        print("  [idle] ready")


def good_job():
    print("  [working] processing... done!")


sm = ResourceManager(job=good_job)
print(f"State: {sorted(sm.configuration_values)}")

sm.send("start")
print(f"State: {sorted(sm.configuration_values)}")

assert "idle" in sm.configuration_values


def bad_job():
    print("  [working] processing... oops!")
    raise RuntimeError("something went wrong")


sm2 = ResourceManager(job=bad_job)

sm2.send("start")
print(f"State: {sorted(sm2.configuration_values)}")

assert "idle" in sm2.configuration_values
