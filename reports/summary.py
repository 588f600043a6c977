"""The one-page HTML summary of a conformance run (no server needed to view it).

Inputs are the per-check records the pytest plugin gathers (id, group, expectation, rule,
cells, outcome, message, observed response, duration). Output: ``summary.html`` (inline CSS,
no scripts) and ``summary.json`` next to it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from conformance.registry import CHALLENGES, GROUPS, KINDS, NOT_APPLICABLE

CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;
color:#1d2430;background:#f7f8fa}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 8px}
.meta{color:#5b6472;margin-bottom:14px}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:700;color:#fff}
.ok{background:#1f9d55}.bad{background:#cc1f1a}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:20px}
table{border-collapse:collapse;background:#fff;border:1px solid #dde2e8}
th,td{padding:6px 10px;border-bottom:1px solid #edf0f3;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
.matrix td{text-align:center;min-width:120px;font-weight:600;border:2px solid #fff}
.c-pass{background:#b7e4c7}.c-fail{background:#f5a3a3}.c-skip{background:#f3e3a1}.c-empty{background:#e5e7eb;color:#6b7280}
.c-na{background:repeating-linear-gradient(45deg,#f3f4f6,#f3f4f6 6px,#e5e7eb 6px,#e5e7eb 12px);
color:#6b7280}
.bar{height:10px;background:#f5a3a3;border-radius:4px;overflow:hidden;width:160px}
.bar span{display:block;height:100%;background:#1f9d55}
code,pre{font:12px ui-monospace,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;word-break:break-all;margin:0;max-width:560px}
.small{color:#5b6472;font-size:12px}
"""


def _matrix(results: list[dict[str, Any]]) -> dict[tuple[str, str], Counter]:
    cells: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in results:
        for challenge, kind in r.get("cells") or []:
            cells[(challenge, kind)][r["outcome"]] += 1
    return cells


def _cell_html(challenge: str, kind: str, counts: Counter | None) -> str:
    if (challenge, kind) in NOT_APPLICABLE:
        return '<td class="c-na">n/a</td>'
    if not counts:
        return '<td class="c-empty">no checks</td>'
    passed, failed, skipped = counts["passed"], counts["failed"], counts["skipped"]
    css = "c-fail" if failed else ("c-pass" if passed else "c-skip")
    text = (f"{passed} ✓" + (f" · {failed} ✗" if failed else "")
            + (f" · {skipped} skipped" if skipped else ""))
    return f'<td class="{css}">{text}</td>'


def render(results: list[dict[str, Any]], *, started: float, finished: float, target: str,
           workers: Any = None) -> str:
    outcomes = Counter(r["outcome"] for r in results)
    total = len(results)
    failed = [r for r in results if r["outcome"] == "failed"]
    verdict = ('<span class="verdict ok">PASS</span>' if not failed and total else
               f'<span class="verdict bad">FAIL · {len(failed)} failing</span>')
    split = Counter(r["expect"] for r in results)
    when = dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    wall = finished - started
    out = [f"<!doctype html><html><head><meta charset='utf-8'>"
           "<title>Dfns conformance summary</title>"
           f"<style>{CSS}</style></head><body>",
           f"<h1>Dfns auth API conformance {verdict}</h1>",
           f"<div class='meta'>Target: <b>{html.escape(str(target or 'inprocess'))}</b>"
           f" · started {when} · wall time <b>{wall:.1f} s</b>"
           + (f" · {workers} workers" if workers else "") + "</div>",
           "<div class='cards'>"]
    for label, value in [("checks", total), ("passed", outcomes["passed"]),
                         ("failed", outcomes["failed"]), ("skipped", outcomes["skipped"]),
                         ("P checks", split["P"]), ("F checks", split["F"])]:
        out.append(f"<div class='card'><span class='small'>{label}</span><b>{value}</b></div>")
    out.append("</div>")

    cells = _matrix(results)
    out.append("<h2>Challenge type × credential kind</h2><table class='matrix'><tr><th></th>")
    out += [f"<th>{k}</th>" for k in KINDS]
    out.append("</tr>")
    for challenge in CHALLENGES:
        out.append(f"<tr><th>{challenge}</th>")
        out += [_cell_html(challenge, kind, cells.get((challenge, kind))) for kind in KINDS]
        out.append("</tr>")
    out.append("</table>")

    out.append("<h2>Per group</h2><table><tr><th>group</th><th>feature</th><th>checks</th>"
               "<th>P / F</th><th>passed</th><th>failed</th><th>skipped</th><th></th></tr>")
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by_group[r["group"]].append(r)
    for group in GROUPS:
        rows = by_group.get(group)
        if not rows:
            continue
        c = Counter(r["outcome"] for r in rows)
        e = Counter(r["expect"] for r in rows)
        ran = c["passed"] + c["failed"]
        pct = 100 * c["passed"] / ran if ran else 100
        out.append(f"<tr><td><b>{group}</b></td><td>{html.escape(GROUPS[group][1])}</td>"
                   f"<td>{len(rows)}</td><td>{e['P']} / {e['F']}</td><td>{c['passed']}</td>"
                   f"<td>{c['failed']}</td><td>{c['skipped']}</td>"
                   f"<td><div class='bar'><span style='width:{pct:.0f}%'></span></div></td></tr>")
    out.append("</table>")

    out.append("<h2>Failing checks</h2>")
    if not failed:
        out.append("<p>None.</p>")
    else:
        out.append("<table><tr><th>check</th><th>rule</th><th>why</th>"
                   "<th>observed response</th></tr>")
        for r in sorted(failed, key=lambda r: r["id"]):
            why = r["message"].replace("conformance.runner.CheckFailed: ", "")[:400]
            out.append(f"<tr><td><code>{html.escape(r['id'])}</code></td>"
                       f"<td>{html.escape(r['rule'])}</td><td><pre>{html.escape(why)}</pre></td>"
                       f"<td><pre>{html.escape(r['observed'][:400])}</pre></td></tr>")
        out.append("</table>")
    slow = sorted(results, key=lambda r: -r.get("duration", 0))[:5]
    if slow:
        out.append("<h2>Timing</h2><p class='small'>Slowest checks: " + ", ".join(
            f"<code>{html.escape(r['id'])}</code> {r['duration'] * 1000:.0f} ms" for r in slow)
            + f". Sum of check times {sum(r.get('duration', 0) for r in results):.1f} s, "
              f"wall {wall:.1f} s.</p>")
    out.append("</body></html>")
    return "".join(out)


def write_summary(path: Path, results: list[dict[str, Any]], *, started: float, finished: float,
                  target: str, workers: Any = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(results, started=started, finished=finished, target=target,
                           workers=workers), encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps({
        "target": target, "started": started, "finished": finished,
        "wallSeconds": finished - started, "results": results}, indent=1), encoding="utf-8")
    return path
