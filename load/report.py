"""What a load run leaves behind, from Locust's CSV and final stats: ``summary.json``,
``summary.md`` and ``latency.png``, in the run's folder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from load.common import SERVER_TIMING

if TYPE_CHECKING:
    from load.runner import Profile


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _num(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def summarise(out: Path, name: str, profile: Profile, **meta: Any) -> dict[str, Any]:
    final_file = out / "final_stats.json"
    rows: list[dict[str, Any]] = []
    if final_file.exists():
        rows = json.loads(final_file.read_text())["rows"]
    else:  # Locust died before quitting: fall back on its last CSV
        rows = [{"type": r["Type"], "name": r["Name"], "requests": int(_num(r["Request Count"])),
                 "failures": int(_num(r["Failure Count"])), "rps": round(_num(r["Requests/s"]), 1),
                 "p50": _num(r["50%"]), "p95": _num(r["95%"]), "p99": _num(r["99%"]),
                 "max": _num(r["Max Response Time"])} for r in _rows(out / "locust_stats.csv")]
    http = [r for r in rows if r["type"] not in (SERVER_TIMING, "") and r["name"] != "Aggregated"]
    timing = [r for r in rows if r["type"] == SERVER_TIMING]
    aggregated = next((r for r in rows if r["name"] == "Aggregated"), {})
    failures = _rows(out / "locust_failures.csv")
    summary = {
        "profile": name, "description": profile.description, **meta,
        "requests": int(aggregated.get("requests", 0)),
        "failures": int(aggregated.get("failures", 0)),
        "rps": aggregated.get("rps", 0.0),
        "http": http, "server_timing_us": timing,
        "failure_samples": failures[:10],
        "files": sorted(p.name for p in out.iterdir() if p.is_file()),
    }
    picture = draw_latency(out)
    if picture:
        summary["files"] = sorted({*summary["files"], picture})
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    return summary


def markdown(s: dict[str, Any]) -> str:
    lines = [f"# Load run: {s['profile']}", "",
             f"{s['description']}. Users {s['users']}, run time {s['run_time']} s, "
             f"shape {s['shape'] or 'none (constant)'}, Locust processes {_locust_layout(s)}, "
             f"{_server(s)}; exit code {s['exit_code']}.", "",
             *([f"**Interrupted ({s['interrupted']}) after {s['wall_seconds']:.0f} s: partial "
                "figures, up to the stop.**", ""] if s.get("interrupted") else []),
             f"**{s['requests']} HTTP requests, {s['failures']} failures, {s['rps']} req/s.**", "",
             "| HTTP request | reqs | fails | req/s | p50 ms | p95 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in s["http"]:
        lines.append(f"| {r['type']} {r['name']} | {r['requests']} | {r['failures']} | {r['rps']} "
                     f"| {r['p50']:g} | {r['p95']:g} | {r['p99']:g} |")
    lines += ["", "Server-Timing (the simulator's own time, microseconds):", "",
              "| metric | samples | p50 µs | p95 µs | p99 µs |", "|---|---:|---:|---:|---:|"]
    for r in s["server_timing_us"]:
        lines.append(f"| {r['name'].replace(' [us]', '')} | {r['requests']} | {r['p50']:g} "
                     f"| {r['p95']:g} | {r['p99']:g} |")
    lines += ["", "Files: " + ", ".join(s["files"]), ""]
    return "\n".join(lines)


def _server(s: dict[str, Any]) -> str:
    if s.get("target"):  # dfns-sim load --bootstrap: a server the run did not start
        return f"server {s['target']} (already running)"
    return f"server workers {s['server_workers']}"


def _locust_layout(s: dict[str, Any]) -> str:
    if s["master_workers"]:
        return f"master + {s['master_workers']} workers"
    return str(s["processes"] or 1)


def server_timing_series(rows: list[dict[str, str]], t0: float, metric: str = "verify"
                         ) -> tuple[str, list[float], list[float], list[float]] | None:
    """The busiest ``metric`` Server-Timing entry over time: its name, seconds since ``t0``,
    p50 and p95 in microseconds. Locust's whole-millisecond HTTP percentiles cannot show a
    sub-millisecond verification; these entries are logged in microseconds (load/common.py)."""
    entries: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if row.get("Type") == SERVER_TIMING and row.get("Name", "").startswith(metric + " "):
            entries.setdefault(row["Name"], []).append(row)
    # A window with no sample reads 0 (or N/A): not drawn as 0 µs.
    drawn = {name: [r for r in series if _num(r.get("50%")) > 0]
             for name, series in entries.items()}
    drawn = {name: series for name, series in drawn.items() if series}
    if not drawn:
        return None
    name, chosen = max(drawn.items(), key=lambda item: _num(
        entries[item[0]][-1].get("Total Request Count")))
    return (name.removesuffix(" [us]"), [_num(r["Timestamp"]) - t0 for r in chosen],
            [_num(r["50%"]) for r in chosen], [_num(r["95%"]) for r in chosen])


def _no_window_yet(row: dict[str, str]) -> bool:
    """Every percentile of the row reads 0: Locust's mark for "no 10-s window yet" (it writes
    ``None or 0``) in the first second(s) of a run, however many requests were made."""
    return all(_num(value) == 0 for key, value in row.items() if key.endswith("%"))


def _drawn(rows: list[dict[str, str]]) -> list[int]:
    """Indexes of the stats-history rows that have percentiles: a window with no request yet
    reads "N/A" (or nothing), and the leading rows before Locust has a window read 0; neither
    is drawn as 0 ms."""
    known = [i for i, r in enumerate(rows) if r.get("50%") not in (None, "", "N/A")]
    first = next((k for k, i in enumerate(known) if not _no_window_yet(rows[i])), len(known))
    return known[first:]


def history_series(rows: list[dict[str, str]]
                   ) -> tuple[list[float], list[float], list[float], list[float]] | None:
    """Seconds (from the first drawn row), p50, p95 and requests/s from Locust's stats
    history (Aggregated rows)."""
    drawn = _drawn(rows)
    if not drawn:
        return None
    t0 = _num(rows[drawn[0]]["Timestamp"])
    xs = [_num(rows[i]["Timestamp"]) - t0 for i in drawn]
    p50 = [_num(rows[i]["50%"]) for i in drawn]
    p95 = [_num(rows[i]["95%"]) for i in drawn]
    # Throughput from the growth of the total count since the row before (drawn or not):
    # Locust's own "Requests/s" column is a trailing average that reads 0 for the first
    # seconds of a run. A first row with nothing before it has no rate to show.
    rps = [_rate(rows[i - 1], rows[i]) if i else 0.0 for i in drawn]
    return xs, p50, p95, rps


def _rate(before: dict[str, str], row: dict[str, str]) -> float:
    elapsed = _num(row["Timestamp"]) - _num(before["Timestamp"])
    grown = _num(row["Total Request Count"]) - _num(before["Total Request Count"])
    return max(0.0, grown / elapsed) if elapsed > 0 else 0.0


def draw_latency(out: Path) -> str | None:
    """Latency (p50/p95) and throughput over time, from Locust's stats history."""
    every_row = _rows(out / "locust_stats_history.csv")
    aggregated = [r for r in every_row if r.get("Name") == "Aggregated"]
    series = history_series(aggregated)
    if series is None:
        return None
    xs, p50, p95, rps = series
    t0 = _num(aggregated[_drawn(aggregated)[0]]["Timestamp"])  # the series' second 0
    server = server_timing_series(every_row, t0)
    import matplotlib  # a dependency (pyproject.toml); imported here, only when drawing

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if server is not None else 2
    fig, axes = plt.subplots(panels, 1, figsize=(9, 3 * panels), sharex=True)
    top, bottom = axes[0], axes[-1]
    top.plot(xs, p50, label="p50")
    top.plot(xs, p95, label="p95")
    top.set_ylabel("latency (ms)")
    top.legend()
    top.set_title(f"{out.name}: HTTP latency, server verification time and throughput")
    if server is not None:
        label, sx, s50, s95 = server
        axes[1].plot(sx, s50, label="p50")
        axes[1].plot(sx, s95, label="p95")
        axes[1].set_ylabel("µs")
        axes[1].set_title(f"Server-Timing {label}", fontsize="small")
        axes[1].legend()
    bottom.plot(xs, rps, color="tab:green")
    bottom.set_ylabel("requests/s")
    bottom.set_xlabel("seconds")
    for axis in axes:  # from zero: a 10 % wobble must not look like a collapse
        top = max((max(line.get_ydata(), default=0) for line in axis.get_lines()), default=0)
        axis.set_ylim(0, top * 1.15 or 1)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)
    return "latency.png"
