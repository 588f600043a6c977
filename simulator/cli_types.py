"""argparse types shared by every ``dfns-sim`` command: a bad value is a one-line usage error
naming the option, never a traceback or a run that starts and fails later."""

from __future__ import annotations

import argparse
import math


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return float(value)


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return int(value)


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, not {text!r}")
    return int(value)


def positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, not {text!r}")
    return value


def non_negative_seconds(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, not {text!r}")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, not {text!r}")
    return value


def run_time(text: str) -> str:
    """Locust's run-time syntax (``20s``, ``2m``, ``1h30m``, plain seconds), more than 0."""
    from load.runner import parse_seconds

    try:
        seconds = parse_seconds(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a duration such as 20s, 2m or 1h30m, not {text!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be positive: every load run is bounded")
    return text
