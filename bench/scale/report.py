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
    lines += scale_out(results)
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


def _load(results: Results, key: str) -> str:
    start, end = results.worker_loads.get(key, (0.0, 0.0))
    return f"{start:.1f} → {end:.1f}"


def _beat(results: Results, key: str) -> str:
    sent = results.beat_sent.get(key, {})
    return ", ".join(f"{task.split('.', 1)[1]} {n}" for task, n in sorted(sent.items())) or "none"


def scale_out(results: Results) -> list[str]:
    s = results.sizes
    lines: list[str] = []
    if results.workers:
        one = results.workers.get(1) or 1.0
        lines += [
            "",
            f"**Scale-out, backups**: {s.worker_assets} small assets (3 files of 16 KiB, new bytes each round), one"
            " backup each, on the `backups` queue (PostgreSQL + Redis), worker processes of concurrency 1; beat and"
            " one worker on every other queue running throughout:",
            "",
            "| worker processes | backups/minute | vs 1 worker | load average (start → end) | beat sent meanwhile |",
            "|---:|---:|---:|---|---|",
            *[
                f"| {n} | {rate:.0f} | {rate / one:.2f} | {_load(results, f'backups {n}')} |"
                f" {_beat(results, f'backups {n}')} |"
                for n, rate in sorted(results.workers.items())
            ],
        ]
    if results.restores:
        one = results.restores.get(1, (1.0,))[0] or 1.0
        lines += [
            "",
            f"**Scale-out, restores**: one drill run restoring the same {s.worker_assets} assets (one restore step"
            " each, all queued at once), on the `restores` queue; timed from the run taking its assets to the last"
            " restore written (the whole run adds its verification of every target):",
            "",
            "| worker processes | restores/minute | vs 1 worker | last restore | whole run | load average |"
            " beat sent meanwhile |",
            "|---:|---:|---:|---:|---:|---|---|",
            *[
                f"| {n} | {rate:.0f} | {rate / one:.2f} | {sec:.1f} s | {whole:.1f} s |"
                f" {_load(results, f'restores {n}')} | {_beat(results, f'restores {n}')} |"
                for n, (rate, sec, whole, _bytes) in sorted(results.restores.items())
            ],
        ]
    if results.web:
        lines += [
            "",
            "**Web tier**: 20 concurrent clients (5 requests each) against gunicorn with 1 and with 3 worker"
            " processes:",
            "",
            "| page | gunicorn workers | p50 | p95 | pages/s | vs 1 worker | load average |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        pages = list(next(iter(results.web.values())))
        for page in pages:
            base = results.web.get(1, {}).get(page, (0.0, 0.0, 0.0, 1.0))[3] or 1.0
            for workers, figures in sorted(results.web.items()):
                p50, p95, _p99, rate = figures[page]
                start, end = results.web_loads.get(workers, (0.0, 0.0))
                lines.append(
                    f"| {page} | {workers} | {p50:.0f} ms | {p95:.0f} ms | {rate:.1f} | {rate / base:.2f} |"
                    f" {start:.1f} → {end:.1f} |"
                )
    return lines
