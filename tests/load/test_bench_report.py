"""bench P3's write-lock figures: arithmetic over the workers' counters, and the report line."""

from __future__ import annotations

from load.bench import lock_waits, markdown


def test_lock_waits_are_per_flow_and_a_share_of_every_workers_time() -> None:
    before = {1: {"busyRetries": 10, "waitSeconds": 0.5},
              2: {"busyRetries": 0, "waitSeconds": 0.0}}
    after = {1: {"busyRetries": 310, "waitSeconds": 0.8},
             2: {"busyRetries": 300, "waitSeconds": 0.5}}
    # Two rounds: 1,000 + 1,000 flows over 2.5 + 2.5 s, so 10 s of worker time in all.
    waits = lock_waits(before, after, [(1000, 2.5), (1000, 2.5)])
    assert waits == {"busy_retries_per_flow": 0.3, "waiting_share": 0.08}


def test_lock_waits_without_counters_is_none() -> None:
    assert lock_waits({1: {}}, {1: {}}, [(100, 1.0)]) is None  # in-memory: nothing to count
    assert lock_waits({}, {}, [(100, 1.0)]) is None
    assert lock_waits({1: {}}, {1: {"busyRetries": 1, "waitSeconds": 0.1}}, []) is None


def test_report_names_each_setups_write_lock() -> None:
    p3 = {"flows_s": {}, "one_worker_flows_s": 1000.0, "scaling_2w_over_1w_sqlite": 1.2,
          "scaling_2w_sqlite_over_1w_memory": 0.6, "generators": 2, "cpus": 2, "errors": 0,
          "write_lock": {"1 worker, SQLite": {"busy_retries_per_flow": 0.0, "waiting_share": 0.0},
                         "2 workers, SQLite": {"busy_retries_per_flow": 1.5,
                                               "waiting_share": 0.0812}}}
    text = markdown({"P3": p3, "date": "now", "machine": "m"})
    assert ("- write lock (2 workers, SQLite): 1.5 busy answers per flow, workers asleep "
            "waiting for it 8.1 % of the time") in text
    assert "- write lock (1 worker, SQLite): 0.0 busy answers per flow" in text
