"""Layering: inference stands without the training engine; the demo's logic is the library's."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

MODEL = "faces-light"


def _loaded_after(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter; the rgb2depth modules and gradio it loaded."""
    probe = (
        code
        + "\nimport json, sys\n"
        + "print(json.dumps({'rgb2depth': sorted(m for m in sys.modules "
        + "if m.startswith('rgb2depth')), 'gradio': sorted(m for m in sys.modules "
        + "if m.split('.')[0] == 'gradio')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_inference_does_not_import_the_training_engine() -> None:
    """Loading a model and predicting (whole, face mode, files) needs no trainer, method
    or loss: inference and training meet only in the model registry and rgb2depth.devices."""
    loaded = _loaded_after(
        f"""
import numpy as np
from pathlib import Path
import tempfile
import rgb2depth.inference
from rgb2depth.inference import Predictor
from rgb2depth.inference.outputs import write_depth_outputs
from rgb2depth.demo import predict_image
p = Predictor.from_pretrained({MODEL!r})
rgb = np.zeros((40, 56, 3), np.uint8)
result = predict_image(p, rgb, face=True)
write_depth_outputs(Path(tempfile.mkdtemp()), "x", result.depth, p)
"""
    )["rgb2depth"]
    assert "rgb2depth.inference.predictor" in loaded and "rgb2depth.devices" in loaded
    training = [m for m in loaded if m.split(".")[1:2] in (["engine"], ["methods"], ["losses"])]
    assert not training, f"inference imported the training side: {training}"


def test_the_cli_and_the_page_module_do_not_import_gradio() -> None:
    """``rgb2depth --help`` and ``import rgb2depth.web`` stay light: gradio is imported
    when a page is built."""
    loaded = _loaded_after(
        "import rgb2depth.web\nfrom rgb2depth.cli.main import build_parser\nbuild_parser()"
    )
    assert not loaded["gradio"], loaded["gradio"]


def test_resolve_device_lives_in_devices_and_is_still_in_the_engine() -> None:
    import torch

    from rgb2depth.devices import resolve_device
    from rgb2depth.engine.trainer import resolve_device as from_the_engine

    assert from_the_engine is resolve_device
    assert resolve_device("cpu") == torch.device("cpu")


def test_the_demo_is_one_library_call() -> None:
    """rgb2depth.demo: the samples' depth, the face's error, the sheet; nothing printed."""
    from rgb2depth import Predictor
    from rgb2depth.demo import demo_sheet, run_demo

    p = Predictor.from_pretrained(MODEL)
    shots = run_demo(p, face=False)
    assert [s.name for s in shots] == ["face", "astronaut"]
    face, astronaut = shots
    assert face.metrics is not None and 0.0 < face.metrics["rmse"] < 500.0
    assert astronaut.metrics is None and astronaut.result.depth.shape == (512, 512)
    assert any("rmse" in line for line in face.lines)
    assert any("no ground truth" in line for line in astronaut.lines)
    sheet = demo_sheet(shots, p.depth_range)
    assert sheet.dtype == np.uint8 and sheet.ndim == 3 and sheet.shape[1] > sheet.shape[0]


def test_face_mode_without_a_face_falls_back_to_the_whole_image() -> None:
    from rgb2depth import Predictor
    from rgb2depth.demo import predict_image

    p = Predictor.from_pretrained(MODEL)
    result = predict_image(p, np.full((48, 64, 3), 128, np.uint8), face=True)
    assert result.notice.startswith("no face found") and result.extra == {"faces": []}
    assert result.depth.shape == (48, 64) and np.isfinite(result.depth).all()
    assert result.faces is None
