"""dfns-sim: an in-process, wire-compatible simulator of the Dfns authentication API."""

from simulator.config import Lifetimes, SimulatorConfig
from simulator.errors import ApiError
from simulator.simulator import Simulator

__all__ = ["ApiError", "Lifetimes", "Simulator", "SimulatorConfig"]
