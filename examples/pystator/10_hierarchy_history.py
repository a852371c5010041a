"""Seed 003, "Hierarchical states": parent/initial_child, transitions from a parent, exit and
enter actions from the leaf up to the common ancestor and back down, and H(parent) history."""

from pathlib import Path

from statefleet.formats.pystator import StateMachine

HERE = Path(__file__).parent
machine = StateMachine.from_yaml(HERE / "media_player.yaml")
for name in ("open_stream", "close_stream", "start_audio", "stop_audio"):
    machine.action(name)(lambda ctx, name=name: print("   ", name))

player = machine.create(entity_id="player-1")
print(player.current_state)  # stopped

print("play:")
player.play()
print(player.current_state, player.is_active, player.is_playing)  # playing True True

print("pause:")
player.pause()
print(player.current_state)  # paused

print("stop (declared on the parent, applies in any child):")
player.stop()
print(player.current_state)  # stopped

print("resume_last (H(active) remembers 'paused'):")
player.resume_last()
print(player.current_state)  # paused

# The stateless path sees the same hierarchy: a parent stands for its initial leaf
result = machine.process("active", "stop", {})
print(result.source_state, "->", result.target_state, result.action_names)
# ... and history travels in snapshots: process() accepts the session's snapshot
result = machine.process(player.snapshot(), "stop", {})
print(machine.process(result, "resume_last", {}).target_state)  # paused
