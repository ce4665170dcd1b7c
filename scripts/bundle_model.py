"""Evaluate a trained model folder and ship it inside the package with a model card.

    python scripts/bundle_model.py runs/faces-light/model --data outputs/data/faces-64 \
        --name faces-light --config configs/faces-light.yaml

Scores the model on the dataset's test split (``rgb2depth evaluate``'s protocol) and
the best constant predictor (the training split's mean depth map) the same way,
then copies ``config.json`` and ``model.safetensors`` to
``src/rgb2depth/weights/NAME/`` with ``metrics.json`` and ``MODEL_CARD.md`` beside
them. The figures in the card come from this run; nothing is typed in by hand.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from rgb2depth import Predictor, __version__
from rgb2depth.baselines import MeanDepthMap
from rgb2depth.data import PairedDepthDataset
from rgb2depth.data.format import read_info
from rgb2depth.data.io import atomic_dir
from rgb2depth.evaluation import evaluate_predictor
from rgb2depth.models import count_parameters

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("rmse", "abs_rel", "mae", "rmse_log", "log10", "delta1", "delta2", "delta3")


def baseline_metrics(data: Path, split: str) -> dict[str, float]:
    """The best constant predictor: the training split's mean depth map, scored alike."""
    const = MeanDepthMap.fit(PairedDepthDataset(data, "train")).mean[0].numpy()
    return evaluate_predictor(lambda rgb: const, data, split=split, progress=False)


def table(rows: dict[str, dict[str, float]]) -> str:
    head = "| predictor | " + " | ".join(SHOWN) + " |\n|---|" + "---:|" * len(SHOWN) + "\n"
    body = "".join(
        f"| {name} | " + " | ".join(f"{r[m]:.4g}" for m in SHOWN) + " |\n"
        for name, r in rows.items()
    )
    return head + body


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="a saved model folder (a run's model/)")
    ap.add_argument("--data", type=Path, required=True, help="the dataset it was trained on")
    ap.add_argument("--name", required=True, help="bundled name, e.g. faces-light")
    ap.add_argument("--config", required=True, help="the committed training config")
    ap.add_argument("--split", default="test")
    args = ap.parse_args()

    predictor = Predictor.from_pretrained(args.model, device="cpu")
    t0 = time.perf_counter()
    model_m = evaluate_predictor(predictor.predict, args.data, split=args.split, progress=False)
    flip_m = evaluate_predictor(
        lambda x: predictor.predict(x, tta="flip"), args.data, split=args.split, progress=False
    )
    base_m = baseline_metrics(args.data, args.split)
    # shape only: per-image median alignment removes the distance; every flat map scores
    # the same there (the ground truth's spread about its median)
    aligned = {"split": args.split, "align": "median", "progress": False}
    model_aligned = evaluate_predictor(predictor.predict, args.data, **aligned)
    flat_aligned = evaluate_predictor(
        lambda rgb: np.full(rgb.shape[:2], predictor.depth_range[0], np.float32),
        args.data,
        **aligned,
    )
    took = time.perf_counter() - t0
    ratio = model_m["rmse"] / base_m["rmse"]
    cfg = predictor.config
    trained = cfg.get("trained", {})
    units = predictor.units
    n = int(model_m["n_images"])
    rows = {
        f"{args.name}": model_m,
        f"{args.name} + flip TTA": flip_m,
        "best constant (train mean depth map)": base_m,
    }
    metrics = {
        "split": args.split,
        "units": units,
        "model": model_m,
        "model_flip_tta": flip_m,
        "mean_depth_map_baseline": base_m,
        "rmse_ratio_to_baseline": ratio,
        "median_aligned": {"model": model_aligned, "flat": flat_aligned},
    }
    method = trained.get("method", {})
    method_extra = (
        f", made shift-invariant (`align: {method['align']}`, anchor weight "
        f"{method.get('anchor_weight')})"
        if method.get("align", "none") != "none"
        else ""
    )
    committed = yaml.safe_load(Path(args.config).read_text()) or {}
    init = (committed.get("model") or {}).get("init") or trained.get("init")
    init_text = f", starting from the weights of `{init}` (`model.init`)" if init else ""
    preset = (committed.get("data") or {}).get("preset")
    preset_text = f", augmentation preset `{preset}`" if preset else ""
    framed = predictor.framing == "face"
    shape_ratio = model_aligned["rmse"] / flat_aligned["rmse"]
    # In a face crop every head fills the frame alike: its distance shows only through
    # perspective, so the absolute figures measure a guess; the shape is what counts.
    requirement_abs = (
        " (in a face crop a head's distance shows only through perspective, so the "
        "absolute figures measure how well the model guesses it; the requirement is on "
        "the shape, below)"
        if framed
        else " (the requirement is at most 0.5)"
    )
    requirement_shape = "; the requirement is at most 0.75" if framed else ""
    passed = shape_ratio <= 0.75 if framed else ratio <= 0.5
    version = read_info(args.data).extra.get("generator", {}).get("faces_version", 1)
    data_text = (
        "face crops framed as face mode frames a photo (`rgb2depth generate faces --framing "
        f"face --faces-version {version}`: OpenCV's detector on a full-frame render, the "
        "same margin, rendered through that window)"
        if framed
        else f"whole frames (`rgb2depth generate faces --faces-version {version}`)"
    )
    use_text = (
        "Face mode (`predict --face`, the default for this model) detects each face in a "
        "photo, predicts it from such a crop and pastes the depth back."
        if framed
        else "It sees the whole image."
    )
    h, w = predictor.input_size
    card = f"""# Model card: `{args.name}`

**What it is.** Seed 004's light U-Net ({count_parameters(predictor.model):,} parameters), \
trained by this project on its own synthetic faces, {data_text}, with seed 004's loss. RGB \
in; depth out in **{units}** over \
[{predictor.depth_range[0]:g}, {predictor.depth_range[1]:g}] {units}, at the input image's \
own size (the network sees {w}x{h}). {use_text}

**How it was made.** `rgb2depth train {args.config}` ({trained.get("steps")} steps of batch \
{trained.get("batch_size")}, method `{trained.get("method", {}).get("name")}` with loss \
`{trained.get("method", {}).get("loss")}`{method_extra}{preset_text}{init_text}), then \
`python scripts/bundle_model.py {args.model} --data {args.data} --name {args.name} \
--config {args.config}`, which wrote this card.

**Evaluation.** The {args.split} split of `{args.data}`: {n} images of identities never \
seen in training, scored with the `rgb2depth evaluate` protocol ({units}, valid pixels \
within the depth range, per-image metrics averaged over images, at the images' own \
{w}x{h} resolution):

{table(rows)}
RMSE is {ratio:.3f} times that of the best constant predictor{requirement_abs}.

Shape only (each prediction scaled so that its median is the true median depth of its \
image, `evaluate --align median`): RMSE {model_aligned["rmse"]:.4g} {units} against \
{flat_aligned["rmse"]:.4g} {units} for any flat map (ratio {shape_ratio:.3f}\
{requirement_shape}).

**Data and licence.** The face shapes come from the Surrey Face Model (University of \
Surrey, via the eos project), whose terms allow non-commercial use only; see \
`rgb2depth/data/synthetic/assets/README.md`. Weights trained on it inherit that \
restriction in practice: ask the model's owners before commercial use.

**Limits.** Trained only on rendered heads (face shapes from a 3D morphable model of real \
scans, procedural skull, hair, neck and clothes; photographic lighting, skin and camera \
effects; backgrounds from photographs and rendered rooms). Background pixels have no \
ground truth and were not supervised, so their predicted depth is meaningless. On real \
photographs there is no measured depth to score against here; `scripts/face_proxy_eval.py` \
measures agreement with MediaPipe's face mesh and `docs/gallery.md` shows real photos.

Evaluated with rgb2depth {__version__}, torch {torch.__version__}, Python \
{platform.python_version()} on {platform.machine()} in {took:.0f} s.
"""
    dest = ROOT / "src" / "rgb2depth" / "weights" / args.name
    with atomic_dir(dest, overwrite=True) as tmp:
        for f in ("config.json", "model.safetensors"):
            shutil.copy2(args.model / f, tmp / f)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        (tmp / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(table(rows))
    print(f"rmse ratio to the best constant predictor: {ratio:.3f}")
    print(f"wrote {dest}")
    print(f"shape-only rmse ratio to a flat map: {shape_ratio:.3f}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
