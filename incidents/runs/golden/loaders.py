"""Model loaders by format. Each returns a function from a float32 batch to a float32 batch.

- ``onnx``: an ONNX file run by onnxruntime on the CPU (first input, first output).
- ``npy``: a NumPy ``.npy`` matrix W of shape (inputs, outputs): y = x @ W.
- ``safetensors``: tensors ``weight`` (outputs, inputs) and optional ``bias`` (outputs): y = x @ W.T + b.

A format not listed here has no loader and a golden set naming it is refused on save.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Model = Callable[[Any], Any]


def _onnx(path: Path) -> Model:
    import numpy as np
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(batch: Any) -> Any:
        return np.asarray(session.run(None, {name: np.asarray(batch, dtype=np.float32)})[0])

    return run


def _npy(path: Path) -> Model:
    import numpy as np

    weights = np.load(path, allow_pickle=False)
    if weights.ndim != 2:
        raise ValueError(f"expected a 2-D weight matrix, found shape {weights.shape}")
    return lambda batch: np.asarray(batch, dtype=np.float32) @ weights


def _safetensors(path: Path) -> Model:
    import numpy as np
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    if "weight" not in tensors:
        raise ValueError(f"no 'weight' tensor (found {', '.join(sorted(tensors)) or 'none'})")
    weight = tensors["weight"]
    bias = tensors.get("bias", np.zeros(weight.shape[0], dtype=weight.dtype))
    return lambda batch: np.asarray(batch, dtype=np.float32) @ weight.T + bias


LOADERS: dict[str, Callable[[Path], Model]] = {"onnx": _onnx, "npy": _npy, "safetensors": _safetensors}
