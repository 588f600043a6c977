"""The Dfns auth conformance suite: numbered checks, target selection, and the pytest plugin."""
