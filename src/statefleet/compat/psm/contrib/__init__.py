"""python-statemachine's ``statemachine.contrib`` helpers (``timeout``)."""
