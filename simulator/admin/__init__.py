"""The simulator's control plane: admin API under ``/_sim/``, faults, journal, outbox access.

Used over HTTP (``/_sim/…``) or through the Python twin on :class:`simulator.Simulator`
(``sim.reset()``, ``sim.clock``, ``sim.faults``, ``sim.journal``, ``sim.outbox()``...).
"""

from simulator.admin.app import SimulatorApp
from simulator.admin.control import Control, ControlError
from simulator.admin.faults import FaultRegistry, FaultRule, FaultSpecError
from simulator.admin.journal import Journal

__all__ = ["Control", "ControlError", "FaultRegistry", "FaultRule", "FaultSpecError", "Journal",
           "SimulatorApp"]
