"""Smoke checks: an HTTP request with an expected status and JSON, or a registered Python check.

A Python check is a callable registered by name in settings.RUN_CHECKS; a plan
can name only those, never a dotted path or a command. It is called as
``check(target_dir=Path | None, asset=Asset | None, args=dict)`` and returns a
CheckResult.
"""

from __future__ import annotations

import http.client
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from dr_portal.outbound import TargetRefused, fetch
from inventory.models import Asset


@dataclass
class CheckResult:
    ok: bool
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[..., CheckResult]


def _compare(actual: Any, expected: Any, path: str = "") -> tuple[list[str], list[str]]:
    """(matched, mismatched) field paths of `expected` in `actual`; nothing of `actual` itself is kept."""
    if isinstance(expected, Mapping) and expected:
        matched: list[str] = []
        mismatched: list[str] = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(actual, Mapping) and key in actual:
                more = _compare(actual[key], value, where)
                matched += more[0]
                mismatched += more[1]
            else:
                mismatched.append(where)
        return matched, mismatched
    return ([path or "$"], []) if actual == expected else ([], [path or "$"])


def http_check(
    *, url: str, expect_status: int = 200, expect_json: Mapping[str, Any] | None = None, timeout: float
) -> CheckResult:
    """GET `url` through the SSRF guard and compare; the evidence keeps what was asserted, never the body."""
    try:
        answer = fetch(url, timeout=timeout)
    except TargetRefused as refused:
        return CheckResult(False, f"GET {url} refused: {refused}.", {"url": url, "refused": True})
    except (OSError, http.client.HTTPException):
        # One message for a closed port, a timeout and a reset, so a check cannot map a network.
        return CheckResult(False, f"GET {url} failed: no answer (could not connect, or it timed out).", {"url": url})
    evidence: dict[str, Any] = {"url": url, "status": answer.status, "expected_status": expect_status}
    if answer.redirects:
        evidence.update(redirects=answer.redirects, final_url=answer.url)
    if answer.status != expect_status:
        return CheckResult(False, f"GET {url} answered {answer.status}, expected {expect_status}.", evidence)
    if expect_json:
        try:
            payload = json.loads(answer.body)
        except ValueError:
            return CheckResult(False, f"GET {url} did not answer JSON.", evidence)
        matched, mismatched = _compare(payload, expect_json)
        evidence.update(expected_json=dict(expect_json), matched=matched, mismatched=mismatched)
        if mismatched:
            return CheckResult(
                False, f"GET {url} answered JSON without the expected {', '.join(mismatched)}.", evidence
            )
    return CheckResult(True, f"GET {url} answered {answer.status} as expected.", evidence)


def python_check(*, name: str, target_dir: Path | None, asset: Asset | None, args: Mapping[str, Any]) -> CheckResult:
    path = settings.RUN_CHECKS.get(name)
    if path is None:
        return CheckResult(False, f"No check named {name!r} is registered.")
    check: CheckFn = import_string(path)
    try:
        result = check(target_dir=target_dir, asset=asset, args=dict(args))
    except Exception as exc:  # a check's bug must fail the step, not kill the worker
        return CheckResult(False, f"The check {name!r} raised {type(exc).__name__}: {exc}")
    result.evidence.setdefault("check", name)
    return result


def golden_output(*, target_dir: Path | None, asset: Asset | None, args: Mapping[str, Any]) -> CheckResult:
    """Load a restored model and compare its outputs on golden inputs with the recorded outputs.

    The model is a JSON linear scorer ``{"weights": [...], "bias": b}`` (``args["model"]``,
    default model.json); the golden file (``args["golden"]``, default golden.json) holds
    ``{"inputs": [[...], ...], "outputs": [...]}``. Both are read from the restored target,
    so a model that came back damaged or stale fails here even when its hash was right.
    """
    if target_dir is None:
        return CheckResult(False, "No restored target to load the model from.")
    tolerance = float(args.get("tolerance", 1e-6))
    try:
        model = json.loads((target_dir / str(args.get("model", "model.json"))).read_text())
        golden = json.loads((target_dir / str(args.get("golden", "golden.json"))).read_text())
        weights, bias = [float(w) for w in model["weights"]], float(model.get("bias", 0.0))
        inputs, expected = golden["inputs"], [float(v) for v in golden["outputs"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return CheckResult(False, f"Cannot load the model or golden data from the target: {exc}.")
    if len(inputs) != len(expected):
        return CheckResult(False, "The golden file has a different number of inputs and outputs.")
    worst = 0.0
    for row, want in zip(inputs, expected, strict=True):
        got = sum(w * float(x) for w, x in zip(weights, row, strict=True)) + bias
        worst = max(worst, abs(got - want))
    evidence = {"cases": len(inputs), "max_abs_error": worst, "tolerance": tolerance}
    if not math.isfinite(worst) or worst > tolerance:
        return CheckResult(False, f"Model outputs differ from the golden outputs by up to {worst:.3g}.", evidence)
    return CheckResult(True, f"All {len(inputs)} golden cases match within {tolerance:g}.", evidence)
