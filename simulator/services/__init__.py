"""Domain services: plain functions over :class:`simulator.services.core.Core`, no HTTP."""
