"""Front-ends for the libraries statefleet's users come from, driving the core like ``Session``.

``statefleet.compat.psm`` is python-statemachine 3 (``StateChart``, ``StateMachine``,
``State``, ``Event``, ...); ``statefleet.compat.xstate``, ``statefleet.compat.pystator`` and
``statefleet.compat.hsm`` are the xstate-statemachine, pystator and stateforward hsm
front-ends.
"""
