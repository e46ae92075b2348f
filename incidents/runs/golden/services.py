"""Save a golden set (refused when its format has no loader) and check a restored model against one."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from dr_portal.audit.services import audit_append
from incidents.runs.golden.loaders import LOADERS
from incidents.runs.golden.models import GoldenSet
from inventory.models import Asset


class GoldenSetInvalid(ValidationError):
    """A golden set that could not check a restore: bad input (400 from the API), not a refusal."""


def _numbers(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_numbers(v) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@transaction.atomic
def golden_set_save(
    *,
    asset: Asset,
    model_format: str,
    model_path: str,
    inputs: list[Any],
    expected: list[Any],
    tolerance: float,
    by: Any = None,
) -> GoldenSet:
    faults = []
    if model_format not in LOADERS:
        faults.append(
            f"No loader for model format {model_format!r}, so a restore could not be checked; "
            f"use one of {', '.join(sorted(LOADERS))}."
        )
    relative = PurePosixPath(model_path)
    if not model_path or relative.is_absolute() or ".." in relative.parts:
        faults.append("model_path must be a path inside the asset's restored root (relative, no '..').")
    if not isinstance(inputs, list) or not inputs or not all(_numbers(row) for row in inputs):
        faults.append("inputs must be a non-empty list of rows of finite numbers.")
    if not isinstance(expected, list) or not all(_numbers(row) for row in expected):
        faults.append("expected must be a list of finite numbers or rows of them.")
    elif isinstance(inputs, list) and len(expected) != len(inputs):
        faults.append(f"expected has {len(expected)} outputs for {len(inputs)} inputs.")
    if not isinstance(tolerance, int | float) or not math.isfinite(tolerance) or tolerance < 0:
        faults.append("tolerance must be a finite number ≥ 0.")
    if faults:
        raise GoldenSetInvalid(" ".join(faults))
    body = {"format": model_format, "path": model_path, "inputs": inputs, "expected": expected, "tolerance": tolerance}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    golden = GoldenSet.objects.create(
        asset=asset,
        model_format=model_format,
        model_path=model_path,
        inputs=inputs,
        expected=expected,
        tolerance=float(tolerance),
        sha256=digest,
        created_by=by,
    )
    audit_append(
        action="asset.golden_set_saved",
        actor=by,
        system_actor="system:runs",
        obj=asset,
        payload={"golden_set": golden.pk, "sha256": digest, "format": model_format, "cases": len(inputs)},
    )
    return golden


def golden_set_for(asset: Asset, *, taken_at: datetime | None) -> GoldenSet | None:
    sets = GoldenSet.objects.filter(asset=asset)
    if taken_at is not None:
        before = sets.filter(created_at__lte=taken_at).first()
        if before is not None:
            return before
    return sets.first()


@dataclass
class GoldenResult:
    ok: bool
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


def golden_check(*, golden: GoldenSet, root: Path) -> GoldenResult:
    """Load the model from the restored root and compare its outputs on the golden inputs."""
    import numpy as np

    evidence: dict[str, Any] = {
        "golden_set": golden.pk,
        "golden_sha256": golden.sha256,
        "format": golden.model_format,
        "model": golden.model_path,
        "cases": len(golden.inputs),
        "tolerance": golden.tolerance,
    }
    loader = LOADERS.get(golden.model_format)
    if loader is None:
        return GoldenResult(False, f"No loader for {golden.model_format!r}.", evidence)
    path = root / golden.model_path
    try:
        model = loader(path)
        got = np.asarray(model(np.asarray(golden.inputs, dtype=np.float32)), dtype=np.float64)
        want = np.asarray(golden.expected, dtype=np.float64)
        worst = float(np.max(np.abs(got.reshape(want.shape) - want)))
    except Exception as exc:  # a broken model file must fail the check, not the worker
        return GoldenResult(False, f"Could not run {golden.model_path}: {type(exc).__name__}: {exc}", evidence)
    evidence["max_abs_error"] = worst
    ok = math.isfinite(worst) and worst <= golden.tolerance
    evidence["passed"] = ok
    if not ok:
        return GoldenResult(
            False, f"Golden outputs differ by up to {worst:.3g} (tolerance {golden.tolerance:g}).", evidence
        )
    return GoldenResult(
        True, f"All {len(golden.inputs)} golden cases within {golden.tolerance:g} (max {worst:.3g}).", evidence
    )
