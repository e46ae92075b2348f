"""PDF pipeline benchmark: render, sign and verify a synthetic report with N timeline rows.

Each size runs in a fresh process so its peak RSS is its own. Usage:
    DEBUG=true python bench/pdf_bench.py [ROWS ...]      (default: 2000 10000)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def measure(rows: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dr_portal.settings")
    import django

    django.setup()
    from django.test import override_settings

    from dr_portal.pdf import render_pdf, sign_pdf, verify_pdf
    from dr_portal.pdf.sample import sample_report
    from dr_portal.pdf.signing import signing_identity

    with tempfile.TemporaryDirectory() as var, override_settings(VAR_DIR=Path(var)):
        signing_identity.cache_clear()
        signing_identity()  # key generation is a one-off; keep it out of the timings
        t0 = time.perf_counter()
        html, attachments, metadata = sample_report(rows=rows)
        t1 = time.perf_counter()
        pdf = render_pdf(html=html, attachments=attachments, metadata=metadata)
        t2 = time.perf_counter()
        signed = sign_pdf(pdf)
        t3 = time.perf_counter()
        result = verify_pdf(signed)
        t4 = time.perf_counter()
        if not result.ok:
            raise SystemExit(f"verification failed: {result.problems}")
        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(signed)
            handle.flush()
            info = subprocess.run(["pdfinfo", handle.name], capture_output=True, text=True, check=True).stdout
    pages = next(int(line.split()[1]) for line in info.splitlines() if line.startswith("Pages:"))
    return {
        "rows": rows,
        "pages": pages,
        "html_s": t1 - t0,
        "render_s": t2 - t1,
        "sign_s": t3 - t2,
        "verify_s": t4 - t3,
        "total_s": t4 - t0,
        "bytes": len(signed),
        # ru_maxrss is in KiB on Linux
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        print(json.dumps(measure(int(argv[1]))))
        return
    sizes = [int(a) for a in argv] or [2000, 10000]
    print("PDF pipeline: synthetic report (title, TOC, 2 charts, N-row audit timeline) -> PDF/A-3b, signed, verified")
    print(
        f"{'rows':>7} {'pages':>6} {'html s':>7} {'render s':>9} {'sign s':>7} {'verify s':>9} {'total s':>8} "
        f"{'file MiB':>9} {'peak RSS MiB':>13}"
    )
    results = []
    for rows in sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(rows)], capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(out.stderr)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        print(
            f"{r['rows']:>7} {r['pages']:>6} {r['html_s']:>7.2f} {r['render_s']:>9.2f} {r['sign_s']:>7.2f} "
            f"{r['verify_s']:>9.2f} {r['total_s']:>8.2f} {r['bytes'] / 2**20:>9.2f} {r['peak_rss_mib']:>13.0f}"
        )
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(
            f"scaling {a['rows']} -> {b['rows']} rows (x{b['rows'] / a['rows']:.1f}): "
            f"time x{b['total_s'] / a['total_s']:.2f}, peak RSS x{b['peak_rss_mib'] / a['peak_rss_mib']:.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
