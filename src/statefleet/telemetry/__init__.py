"""statefleet.telemetry (see DESIGN.md)."""
