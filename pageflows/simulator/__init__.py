"""A Graph API simulator: the only stand-in for Facebook in tests and the demo.

It implements Facebook's Messenger rules itself (never importing
pageflows.engine or pageflows.rules), so a bug in the engine's policy shows up
as a disagreement on the wire instead of being mirrored.
"""

from pageflows.simulator.app import create_app
from pageflows.simulator.harness import RunningSimulator, SimControl, running_simulator
from pageflows.simulator.state import SimState

__all__ = ["RunningSimulator", "SimControl", "SimState", "create_app", "running_simulator"]
