"""Short schemathesis run in the normal suite; the 10,000-request run is `make fuzz`."""

from __future__ import annotations

import os

import pytest

from .fuzzing import envelope_problem, run_fuzz

SHARDS = 4
REQUESTS = int(os.environ.get("DFNS_SIM_FUZZ_REQUESTS", "1000"))


@pytest.mark.http
@pytest.mark.parametrize("shard", range(SHARDS))
def test_fuzz_shard_has_no_5xx_and_only_envelopes(shard: int) -> None:
    report = run_fuzz(REQUESTS, shard=shard, shards=SHARDS, derandomize=True)
    print(report.summary())
    assert report.failures == []
    assert report.invariant_problems == []
    assert report.requests >= REQUESTS // SHARDS
    assert not any(status >= 500 for status in report.statuses)


def test_envelope_checker() -> None:
    assert envelope_problem(400, '{"error":{"status":400,"message":"x"},"message":"x"}') is None
    assert envelope_problem(400, "oops") == "error body is not JSON"
    assert envelope_problem(400, '{"message":"x"}') == "error body has no 'error' object"
    assert envelope_problem(401, '{"error":{"status":400,"message":"x"},"message":"x"}')
