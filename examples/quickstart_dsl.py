"""Quick start: a statechart as a Python class, run in process.

Run: python examples/quickstart_dsl.py
"""

from __future__ import annotations

from statefleet import HistoryState, State, StateChart


class Player(StateChart):
    """A media player: playing/paused remembered across power cycles (deep history)."""

    off = State(initial=True)

    class on(State.Compound):
        playing = State(initial=True)
        paused = State()
        h = HistoryState(type="deep")

        pause = playing.to(paused)
        resume = paused.to(playing)

    power_on = off.to(on.h)
    power_off = on.to(off)

    def on_enter_playing(self) -> None:
        print("  ♪ playing")

    def after_power_off(self) -> None:
        print("  (powered down)")


player = Player()
player.power_on()
player.pause()
player.power_off()
player.power_on()  # deep history: back to "paused", not "playing"
print(sorted(player.configuration_values))

# snapshots are plain data: store them anywhere, restore them later
saved = player.snapshot()
restored = Player.restore(saved)
restored.resume()
print(sorted(restored.configuration_values))
