"""The Markdown section the scale bench writes into docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

from bench.scale.common import MARK_END, MARK_START, Results


def report(results: Results, *, label: str, machine: str) -> str:
    s = results.sizes
    lines = [
        MARK_START,
        "",
        f"Run: {label}, {machine}.",
        "",
        *[f"- {note}" for note in results.notes],
        "",
        "**Filling the estate** (the product's own bulk paths):",
        "",
        "| step | time |",
        "|---|---:|",
        *[f"| {name} | {sec:.1f} s |" for name, sec in results.fill.items()],
        "",
        f"**Pages** (gunicorn, 3 workers; one client: {s.requests} requests per page after 3 warm-up requests;"
        " queries counted in-process on the same data):",
        "",
        "| page | SQL queries | p50 | p95 | p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (p50, p95, p99) in results.one.items():
        lines.append(f"| {name} | {results.queries.get(name, '—')} | {p50:.0f} ms | {p95:.0f} ms | {p99:.0f} ms |")
    lines += [
        "",
        "**20 concurrent clients** (5 requests each):",
        "",
        "| page | p50 | p95 | p99 | pages/s |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {name} | {p50:.0f} ms | {p95:.0f} ms | {p99:.0f} ms | {rate:.1f} |"
            for name, (p50, p95, p99, rate) in results.twenty.items()
        ],
        "",
        "**Periodic tasks** (steady state: each run until it reports nothing to do, then timed once more):",
        "",
        "| task | time |",
        "|---|---:|",
        *[f"| `{name}` | {sec * 1000:.0f} ms |" for name, sec in results.tasks.items()],
    ]
    if results.workers:
        one = results.workers.get(1) or 1.0
        lines += [
            "",
            f"**Scale-out**: {s.worker_assets} small assets (3 files of 16 KiB), one backup each, on the `backups`"
            " queue (PostgreSQL + Redis), worker processes of concurrency 1:",
            "",
            "| worker processes | backups/minute | vs 1 worker |",
            "|---:|---:|---:|",
            *[f"| {n} | {rate:.0f} | {rate / one:.2f} times |" for n, rate in sorted(results.workers.items())],
        ]
    lines += ["", MARK_END]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text()
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        _, tail = rest.split(MARK_END, 1)
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n## Scale (`scale_bench.py`)\n\n" + section + "\n"
    path.write_text(text)
