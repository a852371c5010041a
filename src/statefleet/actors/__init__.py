"""statefleet.actors (see DESIGN.md)."""
