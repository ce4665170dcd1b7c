"""The bundled default model and sample: present, loadable, and better than a constant."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rgb2depth import Predictor
from rgb2depth.baselines import MeanDepthMap
from rgb2depth.data import PairedDepthDataset
from rgb2depth.evaluation import evaluate_predictor
from rgb2depth.inference import bundled_model_dir, bundled_models


def test_faces_light_is_bundled_small_and_safe() -> None:
    assert "faces-light" in bundled_models()
    folder = bundled_model_dir("faces-light")
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "MODEL_CARD.md", "metrics.json"} <= names
    assert not [n for n in names if n.endswith((".pt", ".pth", ".pkl", ".bin"))]
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size <= 10 * 1024 * 1024
    p = Predictor.from_pretrained("faces-light", device="cpu")
    assert p.units == "mm" and p.depth_range == (500.0, 1800.0)
    assert sum(t.numel() for t in p.model.parameters()) == 1_218_870


def test_bundled_metrics_match_the_card() -> None:
    folder = bundled_model_dir("faces-light")
    m = json.loads((folder / "metrics.json").read_text())
    card = (folder / "MODEL_CARD.md").read_text()
    assert m["rmse_ratio_to_baseline"] <= 0.5
    assert f"{m['model']['rmse']:.4g}" in card
    assert f"{m['mean_depth_map_baseline']['rmse']:.4g}" in card


@pytest.mark.slow
def test_faces_light_beats_half_the_best_constant_on_fresh_faces(tmp_path: Path) -> None:
    """Fresh identities (a seed the model never saw): RMSE <= 0.5 x the mean depth map's."""
    from rgb2depth.data.synthetic import generate

    root = tmp_path / "faces"
    generate("faces", root, n=160, size=64, seed=97, progress=False)
    p = Predictor.from_pretrained("faces-light", device="cpu")
    model = evaluate_predictor(p.predict, root, split="test", progress=False)
    const = MeanDepthMap.fit(PairedDepthDataset(root, "train")).mean[0].numpy()
    base = evaluate_predictor(lambda rgb: const, root, split="test", progress=False)
    assert model["n_images"] == base["n_images"] >= 12
    assert model["rmse"] <= 0.5 * base["rmse"], (model["rmse"], base["rmse"])


def test_predictor_output_at_input_size_and_in_range() -> None:
    p = Predictor.from_pretrained("faces-light", device="cpu")
    rng = np.random.default_rng(0)
    for shape in ((37, 53, 3), (80, 64)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        d = p.predict(img)
        assert d.shape == shape[:2] and d.dtype == np.float32
        assert np.isfinite(d).all() and d.min() >= 500.0 and d.max() <= 1800.0
    x = torch.zeros(1)  # the predictor leaves autograd state alone
    assert torch.is_grad_enabled() and not x.requires_grad


def test_demo_on_the_bundled_default(tmp_path: Path, capsys) -> None:
    """The README's main job: the bundled model on the bundled face and astronaut."""
    import re

    from rgb2depth.cli.main import main

    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    rmse = float(re.search(r"face .*rmse ([0-9.]+) mm", out).group(1))
    assert rmse < 100.0, out  # the best constant map is about 225 mm on the test split
    for name in ("face", "astronaut"):
        assert np.load(tmp_path / "demo" / f"{name}_depth.npy").dtype == np.float32
    assert (tmp_path / "demo" / "demo.png").is_file()
