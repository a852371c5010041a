"""statefleet.persistence (see DESIGN.md)."""
