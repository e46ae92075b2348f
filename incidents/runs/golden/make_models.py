"""Make tiny real models for tests and the demo, with no download: ``python -m incidents.runs.golden.make_models DIR``.

Writes into DIR a linear scorer y = x @ W + b in three formats (``model.onnx``,
``weights.npy`` (W only, so y = x @ W), ``model.safetensors``) and ``golden.json``
with golden inputs and the outputs computed here with NumPy, independently of
any loader.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def make_models(root: Path, *, seed: int = 7, inputs: int = 4, outputs: int = 2, cases: int = 8) -> dict[str, Any]:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(inputs, outputs)).astype(np.float32)
    bias = rng.normal(size=(outputs,)).astype(np.float32)
    golden_x = rng.normal(size=(cases, inputs)).astype(np.float32)
    root.mkdir(parents=True, exist_ok=True)

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "linear-scorer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, outputs])],
        initializer=[numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="dr-portal")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(root / "model.onnx"))
    np.save(root / "weights.npy", weight)
    save_file({"weight": np.ascontiguousarray(weight.T), "bias": bias}, str(root / "model.safetensors"))

    with_bias = (golden_x.astype(np.float64) @ weight.astype(np.float64) + bias).tolist()
    without_bias = (golden_x.astype(np.float64) @ weight.astype(np.float64)).tolist()
    golden = {"inputs": golden_x.tolist(), "expected": with_bias, "expected_without_bias": without_bias}
    (root / "golden.json").write_text(json.dumps(golden))
    return {**golden, "weight": weight.astype(float).tolist(), "bias": bias.astype(float).tolist()}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "models")
    make_models(target)
    sys.stdout.write(f"tiny models written to {target}\n")
