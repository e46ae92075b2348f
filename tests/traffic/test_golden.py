"""Golden checks with real tiny models (ONNX via onnxruntime, .npy, safetensors) made by the script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from incidents.runs.golden.loaders import LOADERS
from incidents.runs.golden.make_models import make_models
from incidents.runs.golden.services import GoldenSetInvalid, golden_check, golden_set_save
from tests.factories import AssetFactory


@pytest.fixture
def models(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / "models"
    return root, make_models(root)


@pytest.mark.parametrize(
    ("fmt", "name", "key"),
    [
        ("onnx", "model.onnx", "expected"),
        ("safetensors", "model.safetensors", "expected"),
        ("npy", "weights.npy", "expected_without_bias"),
    ],
)
def test_each_loader_reproduces_the_numpy_outputs(
    models: tuple[Path, dict[str, Any]], fmt: str, name: str, key: str
) -> None:
    root, golden = models
    got = LOADERS[fmt](root / name)(np.asarray(golden["inputs"], dtype=np.float32))
    assert np.max(np.abs(got - np.asarray(golden[key]))) < 1e-5


@pytest.mark.django_db
def test_golden_check_passes_then_fails_on_a_changed_model(models: tuple[Path, dict[str, Any]]) -> None:
    root, golden = models
    asset = AssetFactory.create(name="scorer")
    saved = golden_set_save(
        asset=asset,
        model_format="onnx",
        model_path="model.onnx",
        inputs=golden["inputs"],
        expected=golden["expected"],
        tolerance=1e-4,
    )
    result = golden_check(golden=saved, root=root)
    assert result.ok and result.evidence["max_abs_error"] < 1e-4 and result.evidence["cases"] == 8

    make_models(root, seed=8)  # another model with the same shape: bytes fine, behaviour not
    result = golden_check(golden=saved, root=root)
    assert not result.ok and result.evidence["passed"] is False and result.evidence["max_abs_error"] > 1e-2

    (root / "model.onnx").write_bytes(b"not onnx")
    result = golden_check(golden=saved, root=root)
    assert not result.ok and "Could not run model.onnx" in result.detail


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model_format": "pickle"}, "No loader for model format 'pickle'"),
        ({"model_path": "../etc/passwd"}, "model_path must be a path inside"),
        ({"inputs": []}, "inputs must be a non-empty list"),
        ({"expected": [[1.0]]}, "expected has 1 outputs for 2 inputs"),
        ({"tolerance": -1}, "tolerance must be"),
        ({"inputs": [[1.0, float("nan")], [1.0, 2.0]]}, "finite numbers"),
    ],
)
def test_bad_golden_sets_are_refused_at_save(fields: dict[str, Any], message: str) -> None:
    asset = AssetFactory.create(name="scorer")
    data = {
        "model_format": "onnx",
        "model_path": "model.onnx",
        "inputs": [[1.0, 2.0], [3.0, 4.0]],
        "expected": [[1.0], [2.0]],
        "tolerance": 1e-4,
        **fields,
    }
    with pytest.raises(GoldenSetInvalid, match=message):
        golden_set_save(asset=asset, **data)


def test_the_script_writes_json_golden_data(models: tuple[Path, dict[str, Any]]) -> None:
    root, golden = models
    assert json.loads((root / "golden.json").read_text())["inputs"] == golden["inputs"]
    assert {p.name for p in root.iterdir()} == {"model.onnx", "weights.npy", "model.safetensors", "golden.json"}


@pytest.mark.django_db
def test_a_restore_is_checked_against_the_golden_set_of_its_time() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from incidents.runs.golden.services import golden_set_for

    asset = AssetFactory.create(name="scorer")
    data: dict[str, Any] = {
        "model_format": "npy",
        "model_path": "w.npy",
        "inputs": [[1.0]],
        "expected": [[1.0]],
        "tolerance": 0.1,
    }
    old = golden_set_save(asset=asset, **data)
    old.created_at = timezone.now() - timedelta(days=2)
    old.save()
    new = golden_set_save(asset=asset, **{**data, "expected": [[2.0]]})
    assert golden_set_for(asset, taken_at=timezone.now() - timedelta(days=1)) == old
    assert golden_set_for(asset, taken_at=timezone.now()) == new
    assert golden_set_for(asset, taken_at=timezone.now() - timedelta(days=9)) == new  # none that old: the newest
