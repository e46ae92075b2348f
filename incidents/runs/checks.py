"""Smoke checks: an HTTP request with an expected status and JSON, or a registered Python check.

A Python check is a callable registered by name in settings.RUN_CHECKS; a plan
can name only those, never a dotted path or a command. It is called as
``check(target_dir=Path | None, asset=Asset | None, args=dict)`` and returns a
CheckResult.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from inventory.models import Asset


@dataclass
class CheckResult:
    ok: bool
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[..., CheckResult]


def _contains(actual: Any, expected: Any) -> bool:
    """`expected` is a subset of `actual`: every key present with an equal (or containing) value."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and _contains(actual[k], v) for k, v in expected.items())
    return bool(actual == expected)


def http_check(
    *, url: str, expect_status: int = 200, expect_json: Mapping[str, Any] | None = None, timeout: float
) -> CheckResult:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "dr-portal-smoke"})  # noqa: S310 - http(s) only, checked by the plan
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, body = response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(65536)
    except (urllib.error.URLError, OSError) as exc:
        return CheckResult(False, f"GET {url} failed: {getattr(exc, 'reason', exc)}.", {"url": url})
    evidence: dict[str, Any] = {"url": url, "status": status, "expected_status": expect_status}
    if status != expect_status:
        return CheckResult(False, f"GET {url} answered {status}, expected {expect_status}.", evidence)
    if expect_json:
        try:
            payload = json.loads(body)
        except ValueError:
            return CheckResult(False, f"GET {url} did not answer JSON.", evidence)
        evidence["expected_json"] = dict(expect_json)
        if not _contains(payload, expect_json):
            evidence["json"] = payload if len(body) < 4096 else "(too long to keep)"
            return CheckResult(False, f"GET {url} answered JSON without the expected fields.", evidence)
    return CheckResult(True, f"GET {url} answered {status} as expected.", evidence)


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
