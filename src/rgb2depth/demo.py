"""The main job's logic: depth for the bundled sample images, the face's error, the sheet.

>>> from rgb2depth import Predictor
>>> from rgb2depth.demo import demo_sheet, run_demo
>>> p = Predictor.from_pretrained("faces-light")
>>> shots = run_demo(p)                      # the synthetic face (true depth known), the astronaut
>>> shots[0].metrics["rmse"]                 # the face's error, in p.units
>>> sheet = demo_sheet(shots, p.depth_range)  # (H, W, 3) uint8: image | predicted | true depth

``rgb2depth demo`` prints each image's :attr:`DemoImage.lines` and writes the files of
``rgb2depth predict`` plus :func:`demo_sheet`; the web page (:mod:`rgb2depth.web`)
predicts through :func:`predict_image`, the same face mode with the same fallback.
Nothing here prints or writes files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DemoImage",
    "ImageDepth",
    "demo_sheet",
    "predict_image",
    "run_demo",
    "sample_images",
]


@dataclass
class ImageDepth:
    """Depth for one image, whole or in face mode.

    Attributes:
        depth: (H, W) float32 depth in the predictor's units, NaN where there is none
            (outside the faces in face mode).
        extra: what ``NAME_depth.json`` adds (face mode: ``{"faces": [...]}``), or None.
        notice: one line on what was done ("1 face(s): frontal 120x120 at (200, 80)",
            "no face found; predicted the whole image instead"), or "" for a whole image.
        faces: face mode's result (:class:`~rgb2depth.inference.faces.FaceDepth`: the
            faces, their windows, which pixel is whose), or None for a whole image.
    """

    depth: np.ndarray
    extra: dict[str, Any] | None = None
    notice: str = ""
    faces: Any = None


def predict_image(
    predictor: Any, image: Any, *, face: bool | None = None, tta: str | None = None
) -> ImageDepth:
    """Depth for one image: face mode when ``face`` (None: the model's default, on for a
    model trained on face crops), falling back to the whole image, with a notice, when
    no face is found.

    ``image`` is anything :meth:`~rgb2depth.inference.predictor.Predictor.predict`
    accepts (path, PIL image, (H, W, 3) uint8 array).

    Raises:
        InputError: the image cannot be read.
    """
    from rgb2depth.inference.faces import NoFaceError

    if face is None:
        face = predictor.framing == "face"
    if not face:
        return ImageDepth(predictor.predict(image, tta=tta))
    try:
        result = predictor.predict_faces(image, tta=tta)
    except NoFaceError:
        return ImageDepth(
            predictor.predict(image, tta=tta),
            {"faces": []},
            "no face found; predicted the whole image instead",
        )
    boxes = ", ".join(
        f"{f.kind} {f.w:.0f}x{f.h:.0f} at ({f.x:.0f}, {f.y:.0f})" for f in result.faces
    )
    return ImageDepth(
        result.depth, {"faces": result.to_json()}, f"{len(result.faces)} face(s): {boxes}", result
    )


@dataclass
class SampleImage:
    """A bundled sample: ``rgb`` (H, W, 3) uint8 and, where known, its true depth
    (``truth`` (H, W) float32 in ``units``, ``truth_valid`` (H, W) bool)."""

    name: str
    rgb: np.ndarray
    description: str
    truth: np.ndarray | None = None
    truth_valid: np.ndarray | None = None
    units: str = ""


def sample_images() -> list[SampleImage]:
    """The demo's images: the synthetic face that ships with the package (with its true
    depth) and scikit-image's astronaut photograph (no ground truth)."""
    from skimage import data as skdata

    from rgb2depth.data.io import read_depth, read_rgb

    samples = resources.files("rgb2depth") / "samples"
    meta = json.loads((samples / "samples.json").read_text(encoding="utf-8"))["face"]
    truth, valid = read_depth(
        Path(str(samples / meta["depth"])),
        png_scale=meta["png_scale"],
        png_offset=meta["png_offset"],
    )
    return [
        SampleImage(
            "face",
            read_rgb(Path(str(samples / meta["rgb"]))),
            "synthetic, true depth known",
            truth,
            valid,
            str(meta["depth_units"]),
        ),
        SampleImage("astronaut", skdata.astronaut(), "a real photograph from scikit-image"),
    ]


@dataclass
class DemoImage:
    """One sample image through the demo.

    Attributes:
        sample: the image (and its true depth, if known).
        result: its predicted depth (:func:`predict_image`).
        metrics: the depth metrics against the true depth where both have depth, or None
            (no true depth, or in other units than the model's).
        lines: what ``rgb2depth demo`` prints about it.
    """

    sample: SampleImage
    result: ImageDepth
    metrics: dict[str, float] | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.sample.name


def run_demo(
    predictor: Any, *, face: bool | None = None, tta: str | None = None
) -> list[DemoImage]:
    """Predict depth for :func:`sample_images` and measure the face's error.

    ``face``: face mode (None: the model's default). The face's error is measured where
    both the true and the predicted depth exist, with the metric settings of
    ``rgb2depth evaluate`` for the model's depth range.
    """
    import torch

    from rgb2depth.evaluation import metric_settings
    from rgb2depth.metrics import compute_depth_metrics

    shots = []
    for sample in sample_images():
        result = predict_image(predictor, sample.rgb, face=face, tta=tta)
        depth = result.depth
        has = np.isfinite(depth)
        h, w = depth.shape
        shot = DemoImage(sample, result)
        if result.notice:
            shot.lines.append(f"  {sample.name}: {result.notice}")
        if sample.truth is None or sample.truth_valid is None:
            shot.lines.append(
                f"  {sample.name} ({w}x{h}, {sample.description}): predicted depth "
                f"{float(depth[has].min()):.0f} to {float(depth[has].max()):.0f} "
                f"{predictor.units} (no ground truth)"
            )
        elif sample.units != predictor.units:
            shot.lines.append(
                f"  {sample.name}: the model predicts {predictor.units}; true depth is in "
                f"{sample.units}, not compared"
            )
        else:
            both = sample.truth_valid & has
            m = compute_depth_metrics(
                torch.from_numpy(depth)[None, None],
                torch.from_numpy(sample.truth)[None, None],
                mask=torch.from_numpy(both)[None, None],
                **metric_settings(predictor.depth_range),
            )
            # the shape alone: the prediction scaled to the true median depth (median scaling)
            shape = compute_depth_metrics(
                torch.from_numpy(depth)[None, None],
                torch.from_numpy(sample.truth)[None, None],
                mask=torch.from_numpy(both)[None, None],
                **{**metric_settings(predictor.depth_range), "align": "median"},
            )
            m["rmse_median_aligned"] = shape["rmse"]
            shot.metrics = m
            shot.lines.append(
                f"  {sample.name} ({w}x{h}, {sample.description}): "
                f"rmse {m['rmse']:.1f} {predictor.units}, abs_rel {m['abs_rel']:.4f}, "
                f"delta1 {m['delta1']:.3f}; shape only (median-aligned) rmse "
                f"{shape['rmse']:.1f} {predictor.units}; true median depth "
                f"{float(np.median(sample.truth[both])):.0f}, predicted "
                f"{float(np.median(depth[both])):.0f} {predictor.units}"
            )
        shots.append(shot)
    return shots


def demo_sheet(shots: list[DemoImage], depth_range: tuple[float, float]) -> np.ndarray:
    """The overview: one row per image (image | predicted depth | true depth, black where
    unknown), colourised over ``depth_range``, all rows at the smallest image's height.

    Returns:
        (H, W, 3) uint8.
    """
    from rgb2depth.viz import colorize_depth, contact_sheet

    lo, hi = depth_range
    rows = []
    for shot in shots:
        depth = shot.result.depth
        row = [shot.sample.rgb, colorize_depth(depth, np.isfinite(depth), vmin=lo, vmax=hi)]
        if shot.sample.truth is not None:
            row.append(colorize_depth(shot.sample.truth, shot.sample.truth_valid, vmin=lo, vmax=hi))
        else:
            row.append(np.zeros_like(shot.sample.rgb))
        rows.append(row)
    size = min(t.shape[0] for row in rows for t in row)
    return contact_sheet([[_fit(t, size) for t in row] for row in rows], columns=1)


def _fit(img: np.ndarray, size: int) -> np.ndarray:
    """Resize an (H, W, 3) uint8 image to height ``size`` (keeping its aspect)."""
    from PIL import Image

    h, w = img.shape[:2]
    if h == size:
        return img
    return np.asarray(
        Image.fromarray(img).resize((round(w * size / h), size), Image.Resampling.BILINEAR)
    )
