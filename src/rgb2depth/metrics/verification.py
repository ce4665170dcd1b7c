"""Face verification on depth (seed 001, Sec. 4.3): does generated depth keep identity?

Seed 001 trains a Siamese network (:mod:`rgb2depth.models.siamese`, ``face_siamese``) on
**real** depth maps of faces, never fine-tunes it, and reports its accuracy on a fixed set
of test pairs twice: with the real (ground-truth) depth and with the depth a model
generated from the RGB (or gray) image of the same samples (its Tables 1 and 2). The
evaluation is cross-subject: the test subjects are not in the training set. Two input
faces are "the same person" when the similarity (sigmoid of the logit) exceeds 0.5.

This module is that protocol over the dataset folder format
(:mod:`rgb2depth.data.format`):

- **Identities** are the samples' groups in ``<split>/meta.jsonl`` (``group``; what
  ``rgb2depth generate faces`` writes for each view of a synthetic head). The generator
  splits by group, so no identity of ``test`` is in ``train`` (cross-subject, as the seed).
- **Pairs** (:func:`make_pairs`): genuine pairs (two different views of one identity) and
  impostor pairs (views of two different identities), balanced, drawn deterministically
  from a seed. The ``val`` pairs select the verifier's training step, the ``test`` pairs
  give the reported accuracy. Both are written to JSON files
  (:func:`write_pairs` / :func:`read_pairs`) so that a result can be reproduced and the
  same pairs scored on any generated depth.
- **Training** (:func:`train_verifier`): each step takes K identities of the ``train``
  split and two views of each and scores every pair among them (K genuine pairs, the rest
  impostors, weighted equally); binary cross-entropy on the logit; Adam. The step with
  the best ``val`` accuracy is kept.
- **Framing** (:func:`resolve_crop`, ``crop``): ``seed`` is seed 001's dynamic face crop
  (Sec. 3.2, Eq. 6: a box of ``f * 320 mm / D`` pixels around the head centre, ``D`` the
  depth there; :mod:`rgb2depth.data.sources._headcrop`), which keeps metric scale;
  ``none`` takes the images as framed. ``auto`` is ``seed`` where head centres and the
  camera are known (:func:`head_centres`).
- **Preprocessing** (:func:`prepare_depth`, the same for ground truth and generated depth):
  depth in the dataset's units, clipped to its ``depth_range``, at 96x96 (the seed's face
  crops), then mapped to the model range as the project does everywhere
  (:func:`~rgb2depth.data.transforms.depth_to_model_range`: ``depth_range`` -> [-1, 1]),
  invalid pixels set to +1 (the far end, as :class:`~rgb2depth.data.transforms.ToModelRange`).
  ``normalize="centered"`` subtracts each map's median valid depth first (same scale), so
  that the verifier sees the face's relief and not its distance from the camera.
- **Region** (:func:`face_region`, ``region``): ``head`` is the whole crop (the seed);
  ``face`` keeps only an ellipse in its middle (120 x 160 mm with the seed crop).
- **Generated depth** covers the whole image; it is read on the ground truth's valid pixels
  (the face and head, not the background the dataset marks invalid), so both inputs of the
  verifier have the same outline. Where the background is invalid (synthetic faces) the
  outline identifies heads by itself: the ``silhouette`` control (the ground-truth mask
  filled with the map's median depth: outline and distance, no relief) measures how much,
  and the ``face`` region (the default of :func:`verify`) leaves no outline to see.

Example::

    from rgb2depth.metrics.verification import verify
    result = verify("data/faces", "runs/verify", models=["faces-light"])
    result["rows"][0]["accuracy"]      # ground truth, test pairs, threshold 0.5
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from rgb2depth.errors import InputError

if TYPE_CHECKING:
    from rgb2depth.models.siamese import FaceSiamese

__all__ = [
    "DEFAULT_SIZE",
    "NORMALIZATIONS",
    "DepthFn",
    "FaceSet",
    "Pair",
    "VerifierRun",
    "load_face_set",
    "load_verifier",
    "make_pairs",
    "make_run_pairs",
    "pair_labels",
    "pair_scores",
    "prepare_depth",
    "read_identities",
    "read_pairs",
    "silhouette_depth",
    "train_verifier",
    "verification_metrics",
    "verify",
    "write_pairs",
]

DEFAULT_SIZE = 96
"""Side of the verifier's square input (seed 001: 96x96 face crops)."""

DEFAULT_STEPS = 2000
"""Training steps of :func:`verify` (about 6 minutes on two CPU cores)."""

REGIONS = ("face", "head")
"""What of the framed map the verifier sees: ``face``: only an ellipse in the middle
(:func:`face_region`), so that the outline of the head cannot tell identities apart;
``head``: all of it (seed 001)."""

FACE_REGION = (0.375, 0.5)
"""Width and height of the ``face`` ellipse as fractions of the input's side: with the
seed crop (320 mm) 120 x 160 mm around the head centre."""

CROPS = ("auto", "seed", "none")
"""How faces are framed for the verifier (:func:`resolve_crop`)."""

NORMALIZATIONS = ("range", "centered")
"""``range``: the project's model range (``depth_range`` -> [-1, 1]); ``centered``: the
same after subtracting each map's median valid depth."""

FILL = 1.0
"""Model-range value of invalid pixels (the far end, as ``ToModelRange``)."""

THRESHOLD = 0.5
"""Similarity above which two faces are the same person (seed 001)."""

SPLITS = ("train", "val", "test")
PAIRS_FORMAT = "rgb2depth-verification-pairs"
RUN_FORMAT = "rgb2depth-verifier"
RESULT_FORMAT = "rgb2depth-verification"
WEIGHTS_FILE = "verifier.safetensors"
SETTINGS_FILE = "verifier.json"
PAIR_FILES = {"val": "pairs-val.json", "test": "pairs-test.json"}
MODEL_NAME = "face_siamese"


# --------------------------------------------------------------------------- identities


def read_identities(root: str | Path, split: str) -> dict[str, str]:
    """Map each depth sample of ``root/split`` to its identity (``group`` in meta.jsonl).

    Identities are returned as strings (JSON gives ints for the generator's groups).

    Raises:
        InputError: no ``meta.jsonl``, a malformed line, or a depth sample without a group.
    """
    from rgb2depth.data.format import list_split, read_groups

    depth = list_split(root, split, "depth")
    path = Path(root) / split / "meta.jsonl"
    if not path.is_file():
        raise InputError(
            f"{path} not found: face verification needs each sample's identity ('group' "
            "in <split>/meta.jsonl, as rgb2depth generate faces writes)"
        )
    groups = read_groups(root, split)
    missing = sorted(set(depth) - set(groups))
    if missing:
        raise InputError(
            f"{path} gives no identity ('group') for {len(missing)} of {len(depth)} "
            f"sample(s) (e.g. {missing[0]})"
        )
    return {n: str(groups[n]) for n in sorted(depth)}


def _by_identity(identities: Mapping[str, Hashable]) -> dict[str, list[str]]:
    """identity (as str) -> sorted sample names; identities in sorted order."""
    out: dict[str, list[str]] = {}
    for name in sorted(identities):
        out.setdefault(str(identities[name]), []).append(name)
    return dict(sorted(out.items()))


def check_identities(identities: Mapping[str, Hashable], where: str) -> None:
    """Refuse a split on which verification pairs cannot be made.

    Needs at least two identities (impostor pairs) and one identity with two views
    (genuine pairs).

    Raises:
        InputError: one line naming ``where`` and what it holds.
    """
    by_id = _by_identity(identities)
    multi = sum(len(v) >= 2 for v in by_id.values())
    if len(by_id) < 2 or multi < 1:
        raise InputError(
            f"{where}: too few identities for face verification: {len(by_id)} "
            f"identit{'y' if len(by_id) == 1 else 'ies'}, {multi} with two or more views "
            "(needs at least 2 identities and one with two views)"
        )


# --------------------------------------------------------------------------- pairs


@dataclass(frozen=True)
class Pair:
    """Two samples (file stems) and whether they show the same identity."""

    a: str
    b: str
    same: bool


def make_pairs(
    identities: Mapping[str, Hashable], *, n_pairs: int | None = None, seed: int = 0
) -> list[Pair]:
    """Balanced genuine and impostor pairs, the same for the same inputs and seed.

    Genuine pairs are two different views of one identity; impostor pairs are views of
    two different identities. With ``n_pairs`` None every genuine pair is used (all
    combinations of two views per identity) and as many impostor pairs are drawn; else
    ``n_pairs // 2`` of each (fewer if the split has fewer genuine pairs). Each pair is
    unordered and appears once; the list is sorted by (a, b).

    Args:
        identities: sample name -> identity.
        n_pairs: total number of pairs wanted (even), or None.
        seed: seed of the draw.

    Raises:
        InputError: fewer than two identities, none with two views, or a bad ``n_pairs``.
    """
    if n_pairs is not None and (isinstance(n_pairs, bool) or int(n_pairs) < 2):
        raise InputError(f"number of pairs must be at least 2, got {n_pairs!r}")
    check_identities(identities, "the split")
    rng = np.random.default_rng(seed)
    by_id = _by_identity(identities)
    genuine = [(a, b) for names in by_id.values() for a, b in itertools.combinations(names, 2)]
    order = rng.permutation(len(genuine))
    n = len(genuine) if n_pairs is None else min(int(n_pairs) // 2, len(genuine))
    chosen = [genuine[i] for i in order[:n]]

    names = sorted(identities)
    ident = [str(identities[x]) for x in names]
    possible = math.comb(len(names), 2) - len(genuine)
    n_imp = min(n, possible)
    impostors: set[tuple[str, str]] = set()
    if n_imp > possible // 2:  # dense: enumerate and draw without replacement
        every = [
            (names[i], names[j])
            for i, j in itertools.combinations(range(len(names)), 2)
            if ident[i] != ident[j]
        ]
        impostors = {every[k] for k in rng.permutation(len(every))[:n_imp]}
    else:
        while len(impostors) < n_imp:
            i, j = (int(v) for v in rng.integers(len(names), size=2))
            if ident[i] != ident[j]:
                impostors.add((names[min(i, j)], names[max(i, j)]))
    n = min(n, n_imp)  # balanced even when impostors are the scarcer kind
    pairs = [Pair(a, b, True) for a, b in chosen[:n]]
    pairs += [Pair(a, b, False) for a, b in sorted(impostors)[:n]]
    return sorted(pairs, key=lambda p: (p.a, p.b))


def pair_labels(pairs: Sequence[Pair]) -> np.ndarray:
    """(P,) float32: 1 for genuine pairs, 0 for impostor pairs."""
    return np.array([1.0 if p.same else 0.0 for p in pairs], dtype=np.float32)


def write_pairs(path: str | Path, pairs: Sequence[Pair], **meta: Any) -> None:
    """Write ``pairs`` (and ``meta``: split, seed, dataset...) as JSON, atomically.

    Format: ``{"format": "rgb2depth-verification-pairs", "version": 1, ...meta,
    "n_genuine", "n_impostor", "pairs": [[a, b, 1 | 0], ...]}`` (1: same identity).
    """
    from rgb2depth.data.io import atomic_path

    doc = {
        "format": PAIRS_FORMAT,
        "version": 1,
        **meta,
        "n_genuine": sum(p.same for p in pairs),
        "n_impostor": sum(not p.same for p in pairs),
        "pairs": [[p.a, p.b, int(p.same)] for p in pairs],
    }
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def read_pairs(path: str | Path) -> tuple[list[Pair], dict[str, Any]]:
    """Read a pairs file written by :func:`write_pairs` -> (pairs, the other keys).

    Raises:
        InputError: missing, not JSON, or not a pairs file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pairs file {path} not found")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{path}: not a JSON pairs file") from None
    if not isinstance(doc, dict) or doc.get("format") != PAIRS_FORMAT:
        raise InputError(f"{path}: not a pairs file (expected format {PAIRS_FORMAT!r})")
    try:
        pairs = [Pair(str(a), str(b), bool(int(s))) for a, b, s in doc["pairs"]]
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path}: 'pairs' must be a list of [a, b, 0 | 1]") from None
    meta = {k: v for k, v in doc.items() if k != "pairs"}
    return pairs, meta


# --------------------------------------------------------------------------- preprocessing


def _median_valid(depth: torch.Tensor, mask: torch.Tensor) -> float:
    vals = depth[mask]
    return float(vals.median()) if vals.numel() else 0.0


def prepare_depth(
    depth: torch.Tensor | np.ndarray,
    mask: torch.Tensor | np.ndarray,
    depth_range: Sequence[float],
    *,
    size: int = DEFAULT_SIZE,
    normalize: str = "range",
) -> torch.Tensor:
    """One depth map -> the verifier's (1, size, size) input in the model range.

    Args:
        depth: (H, W) or (1, H, W) depth in the dataset's units (any value where invalid).
        mask: the same shape, bool, True where ``depth`` is valid.
        depth_range: (lo, hi) of the dataset, in its units: lo -> -1, hi -> +1.
        size: output side in pixels (masked bilinear resize, aspect not kept).
        normalize: ``"range"`` or ``"centered"`` (the map's median valid depth
            subtracted before mapping, so the face's median lies at 0).

    Returns:
        (1, size, size) float32; invalid pixels (and a map with none valid) hold +1.
    """
    from rgb2depth.data.transforms import Resize

    if normalize not in NORMALIZATIONS:
        raise InputError(f"unknown normalization {normalize!r}; use {' or '.join(NORMALIZATIONS)}")
    d = torch.as_tensor(
        np.asarray(depth, dtype=np.float32) if isinstance(depth, np.ndarray) else depth
    )
    m = torch.as_tensor(mask).bool()
    d, m = d.float().reshape(1, *d.shape[-2:]), m.reshape(1, *m.shape[-2:])
    if d.shape != m.shape:
        raise InputError(f"depth {tuple(d.shape)} and mask {tuple(m.shape)} differ in shape")
    lo, hi = (float(v) for v in depth_range)
    m = m & torch.isfinite(d)
    d = torch.where(m, d.nan_to_num(0.0).clamp(lo, hi), torch.zeros_like(d))
    out = Resize(size)({"depth": d, "mask": m})
    d, m = out["depth"], out["mask"]
    scale = 2.0 / (hi - lo)
    if normalize == "centered":
        x = (d - _median_valid(d, m)) * scale
    else:
        x = (d - lo) * scale - 1.0
    return torch.where(m, x, torch.full_like(x, FILL)).contiguous()


def face_region_mask(size: int) -> torch.Tensor:
    """(size, size) bool: the ellipse of the ``face`` region, centred, :data:`FACE_REGION`
    of the sides across (with the seed crop: 120 x 160 mm around the head centre)."""
    k = (torch.arange(size, dtype=torch.float32) + 0.5) / size - 0.5
    ax, ay = FACE_REGION[0] / 2, FACE_REGION[1] / 2
    return (k[None, :] / ax) ** 2 + (k[:, None] / ay) ** 2 <= 1.0


def face_region(x: torch.Tensor) -> torch.Tensor:
    """Keep only the ``face`` region of a verifier input (:func:`prepare_depth`'s output).

    Pixels outside the ellipse of :func:`face_region_mask`, and invalid pixels inside it,
    take the map's median valid value inside it (0 with ``normalize="centered"``), so the
    outline of a head says nothing and no fixed edge dominates the input (a map with no
    valid pixel there is all +1).

    Args:
        x: (1, S, S) model-range depth, +1 where invalid.

    Returns:
        (1, S, S), the same dtype.
    """
    inside = face_region_mask(int(x.shape[-1])).to(x.device)[None]
    valid = inside & (x < FILL)
    med = x[valid].median() if valid.any() else torch.tensor(FILL, dtype=x.dtype)
    return torch.where(valid, x, med.to(x.dtype))


def silhouette_depth(depth: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The control input: ``mask`` filled with the median valid depth of ``depth``.

    Keeps the outline and the distance of a face, removes its relief. Shapes as given.
    """
    return torch.where(mask, torch.full_like(depth, _median_valid(depth, mask)), depth)


@dataclass
class FaceSet:
    """Preprocessed depth faces of one split.

    Attributes:
        names: sample names (file stems), sorted.
        images: (N, 1, S, S) float32 verifier inputs (see :func:`prepare_depth`).
        identities: identity of each sample, as str.
    """

    names: list[str]
    images: torch.Tensor
    identities: list[str]
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {n: i for i, n in enumerate(self.names)}


DepthFn = Callable[[np.ndarray], np.ndarray]
"""(H, W, 3) uint8 RGB -> (H, W) depth in the dataset's units."""

_FACE_SIZE = {"mm": 1.0, "m": 1e-3, "um": 1e3}  # seed 001's R = 320 mm in each unit


@dataclass(frozen=True)
class HeadCentre:
    """Where a sample's head is and its camera's focal lengths (seed 001's face crop).

    Attributes:
        centre: ``(x, y)`` continuous pixel coordinates (``head_center``), or None.
        offset: ``(offset_x, offset_y)``: the head centre from the image centre in
            shorter sides (``rgb2depth generate faces`` whole frames), or None.
        focal: ``(f_x, f_y)`` in pixels at ``camera_size``.
        camera_size: ``(H, W)`` the focal lengths refer to; None: the image's own size.
    """

    centre: tuple[float, float] | None
    offset: tuple[float, float] | None
    focal: tuple[float, float]
    camera_size: tuple[int, int] | None

    def locate(self, h: int, w: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """((x, y), (f_x, f_y)) in the pixels of an (h, w) image."""
        sy, sx = (
            (1.0, 1.0)
            if self.camera_size is None
            else (h / self.camera_size[0], w / self.camera_size[1])
        )
        focal = (self.focal[0] * sx, self.focal[1] * sy)
        if self.centre is not None:
            return self.centre, focal
        assert self.offset is not None
        short = min(h, w)
        return (w / 2 + self.offset[0] * short, h / 2 + self.offset[1] * short), focal


def head_centres(root: str | Path, split: str) -> dict[str, HeadCentre] | None:
    """Each sample's :class:`HeadCentre`, or None when some sample lacks one.

    The head centre is ``head_center`` (``[x, y]``, continuous pixel coordinates of the
    sample's own image) of its ``meta.jsonl`` row or, for whole frames that ``rgb2depth
    generate faces`` wrote (``--framing full``), the image centre moved by ``offset_x``,
    ``offset_y`` shorter sides (where that generator puts the head). The focal lengths
    are the row's ``intrinsics`` (the image's own) or ``dataset.json``'s (at its
    ``image_size``). None also for ``relative`` depth (no metric face size).
    """
    from rgb2depth.data.format import list_split, read_info

    info = read_info(root)
    if info.depth_units not in _FACE_SIZE:
        return None
    gen = info.extra.get("generator") if isinstance(info.extra, dict) else None
    frames = isinstance(gen, dict) and gen.get("kind") == "faces"
    frames = frames and isinstance(gen, dict) and gen.get("framing", "full") == "full"
    from rgb2depth.data.format import read_meta

    rows = read_meta(root, split)
    out = {}
    for name in list_split(root, split, "depth"):
        row = rows.get(name, {})
        own = row.get("intrinsics")
        camera = own if isinstance(own, dict) else info.intrinsics
        if not isinstance(camera, dict):
            return None
        try:
            focal = (float(camera["fx"]), float(camera["fy"]))
            size = None if isinstance(own, dict) else info.image_size
            if own is None and size is None:
                return None
            if "head_center" in row:
                x, y = (float(v) for v in row["head_center"])
                out[name] = HeadCentre((x, y), None, focal, size)
            elif frames and "offset_x" in row and "offset_y" in row:
                off = (float(row["offset_x"]), float(row["offset_y"]))
                out[name] = HeadCentre(None, off, focal, size)
            else:
                return None
        except (KeyError, TypeError, ValueError):
            return None
    return out


def resolve_crop(root: str | Path, crop: str = "auto") -> str:
    """``"seed"`` or ``"none"``: ``auto`` is ``seed`` where every split has head centres
    and a camera (:func:`head_centres`), else ``none`` (the images are used as framed).

    Raises:
        InputError: an unknown ``crop``, or ``seed`` asked for where it cannot be made.
    """
    if crop not in CROPS:
        raise InputError(f"unknown crop {crop!r}; use {', '.join(CROPS)}")
    if crop == "none":
        return crop
    able = all(head_centres(root, s) is not None for s in SPLITS)
    if crop == "seed" and not able:
        raise InputError(
            f"{root}: seed 001's face crop needs each sample's head centre ('head_center' "
            "[x, y] in meta.jsonl, or whole frames of rgb2depth generate faces) and the "
            "camera's intrinsics; use --crop none"
        )
    return "seed" if able else "none"


def load_face_set(
    root: str | Path,
    split: str,
    *,
    size: int = DEFAULT_SIZE,
    normalize: str = "range",
    crop: str = "none",
    region: str = "head",
    names: Sequence[str] | None = None,
    depth_fn: DepthFn | None = None,
    model_input: str = "frame",
    depth_of: Callable[[str], np.ndarray] | None = None,
    control: str | None = None,
    progress: bool = False,
    desc: str = "",
) -> FaceSet:
    """Read and preprocess the depth faces of ``root/split``.

    Args:
        root: dataset folder.
        split: split name.
        size, normalize: see :func:`prepare_depth`.
        crop: ``"none"``: the depth map as it is, resized to ``size``; ``"seed"``: seed
            001's dynamic face crop (Sec. 3.2: a box of ``f * 320 mm / D`` pixels around
            the head centre, ``D`` the mean ground-truth depth around it;
            :mod:`rgb2depth.data.sources._headcrop`, nearest-neighbour resampling) cut
            out at ``size`` x ``size``; needs :func:`head_centres`.
        region: ``"head"``: all of the framed map; ``"face"``: :func:`face_region`.
        names: only these samples (default: all of the split).
        depth_fn: generated depth instead of the ground truth: called with each sample's
            RGB image (``model_input="frame"``: the whole image; ``"crop"``: with the
            seed crop, that crop of the RGB image at ``size`` x ``size``), it returns
            depth of the image it was given (the dataset's units), which is cut with the
            ground truth's box and read on the ground truth's valid pixels.
        model_input: see ``depth_fn``.
        depth_of: the same as ``depth_fn`` on whole images, but called with the
            sample's name (prediction files).
        control: ``"silhouette"``: the ground-truth mask filled with its median depth.
        progress: show a progress bar (``desc`` names it).

    Raises:
        InputError: a missing split, sample or identity, an unreadable file, a
            generated map of another size than its input.
    """
    from tqdm.auto import tqdm

    from rgb2depth.data.datasets import load_depth
    from rgb2depth.data.format import list_split, read_info
    from rgb2depth.data.io import read_rgb
    from rgb2depth.data.sources import _headcrop as hc

    if crop not in ("none", "seed"):
        raise InputError(f"unknown crop {crop!r}; use none or seed")
    if model_input not in ("frame", "crop"):
        raise InputError(f"unknown model_input {model_input!r}; use frame or crop")
    if region not in REGIONS:
        raise InputError(f"unknown region {region!r}; use {' or '.join(REGIONS)}")
    if control not in (None, "silhouette"):
        raise InputError(f"unknown control {control!r}; use silhouette")
    info = read_info(root)
    identities = read_identities(root, split)
    depth_files = list_split(root, split, "depth")
    rgb_files = list_split(root, split, "rgb") if depth_fn is not None else {}
    wanted = sorted(depth_files) if names is None else sorted(set(names))
    absent = [n for n in wanted if n not in depth_files or (depth_fn and n not in rgb_files)]
    if absent:
        raise InputError(
            f"{Path(root) / split}: {len(absent)} sample(s) of the pairs are missing "
            f"(e.g. {absent[0]}); were the pairs made on another dataset?"
        )
    centres = head_centres(root, split) if crop == "seed" else None
    if crop == "seed" and centres is None:
        resolve_crop(root, "seed")  # raises with the reason
    lo, hi = info.depth_range
    face = _FACE_SIZE.get(info.depth_units, 0.0) * hc.FACE_SIZE_MM
    images = torch.empty(len(wanted), 1, size, size)
    for i, name in enumerate(tqdm(wanted, desc=desc or split, unit="img", disable=not progress)):
        d, m = load_depth(depth_files[name], info)
        depth, mask = d[0].numpy(), m[0].numpy()
        box = None
        if centres is not None:
            in_range = mask & (depth >= lo) & (depth <= hi)
            centre, focal = centres[name].locate(*depth.shape)
            box = hc.face_box(depth, in_range, centre, focal, size_mm=(face, face))
            if box is None:  # no valid depth near the centre: the face's median distance
                dist = float(np.median(depth[in_range])) if in_range.any() else (lo + hi) / 2
                bw, bh = hc.box_size(dist, focal, (face, face))
                box = hc.FaceBox(centre[0], centre[1], bw, bh, dist)
            depth, mask = hc.crop_depth(depth, mask, box, size)
        if depth_fn is not None or depth_of is not None:
            if depth_of is not None:
                pred = np.asarray(depth_of(name), dtype=np.float32)
                given: tuple[int, ...] = tuple(d.shape[-2:])
                cut = box is not None
            else:
                assert depth_fn is not None
                rgb = read_rgb(rgb_files[name])
                cut = box is not None and model_input == "frame"
                if box is not None and model_input == "crop":
                    rgb = hc.crop_rgb(rgb, box, size)
                given = tuple(rgb.shape[:2])
                pred = np.asarray(depth_fn(rgb), dtype=np.float32)
            if pred.shape != given:
                raise InputError(
                    f"generated depth of {name} is {pred.shape} (H, W) but its input is {given}"
                )
            if cut:
                assert box is not None
                pred, _ = hc.crop_depth(pred, np.isfinite(pred), box, size)
            depth = np.asarray(pred, dtype=np.float32)
            mask = mask & np.isfinite(depth)
        elif control == "silhouette":
            depth = silhouette_depth(torch.from_numpy(depth), torch.from_numpy(mask)).numpy()
        x = prepare_depth(depth, mask, info.depth_range, size=size, normalize=normalize)
        images[i] = face_region(x) if region == "face" else x
    return FaceSet(wanted, images, [identities[n] for n in wanted])


# --------------------------------------------------------------------------- scoring


@torch.no_grad()
def pair_scores(
    model: torch.nn.Module, faces: FaceSet, pairs: Sequence[Pair], *, batch_size: int = 128
) -> np.ndarray:
    """(P,) similarities in [0, 1] (sigmoid of the logit) of ``pairs`` over ``faces``.

    With ``face_siamese`` (``embed`` + ``head``) each image is embedded once and the
    head scores the pairs, which in eval mode equals ``sigmoid(model(a, b))``. The
    model is put in eval mode and left so.
    """
    model.eval()
    device = next(model.parameters()).device
    ia = torch.tensor([faces.index[p.a] for p in pairs], dtype=torch.long)
    ib = torch.tensor([faces.index[p.b] for p in pairs], dtype=torch.long)
    if not len(pairs):
        return np.zeros(0, np.float32)
    embed, head = getattr(model, "embed", None), getattr(model, "head", None)
    if embed is not None and head is not None:
        used = torch.unique(torch.cat([ia, ib]))
        e = torch.zeros(len(faces.names), int(head.in_features), device=device)
        for s in range(0, len(used), batch_size):
            idx = used[s : s + batch_size]
            e[idx.to(device)] = embed(faces.images[idx].to(device)).float()
        logit = head((e[ia.to(device)] - e[ib.to(device)]).abs()).float()[:, 0]
        return torch.sigmoid(logit).cpu().numpy()
    out = []
    for s in range(0, len(pairs), batch_size):
        a = faces.images[ia[s : s + batch_size]].to(device)
        b = faces.images[ib[s : s + batch_size]].to(device)
        out.append(torch.sigmoid(model(a, b).float()[:, 0]).cpu())
    return torch.cat(out).numpy()


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney; ties count one half)."""
    pos, neg = scores[labels > 0.5], scores[labels <= 0.5]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):  # average ranks of ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i : j + 1] = 0.5 * (i + j) + 1.0
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def verification_metrics(
    scores: np.ndarray, labels: np.ndarray, *, threshold: float = THRESHOLD
) -> dict[str, float]:
    """Accuracy of ``scores > threshold`` against ``labels`` (1 genuine, 0 impostor).

    Returns:
        ``accuracy``; ``ci95``: half-width of its normal-approximation 95% interval
        (pairs share images, so it is optimistic); ``genuine_accepted`` (true positive
        rate); ``impostor_rejected`` (true negative rate); ``auc`` (ROC area,
        threshold-free); ``chance`` (accuracy of always answering the majority label);
        ``n_pairs``, ``n_genuine``, ``n_impostor``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    same = labels > 0.5
    said = scores > threshold
    n = len(labels)
    acc = float((said == same).mean()) if n else float("nan")
    return {
        "accuracy": acc,
        "ci95": float(1.96 * math.sqrt(acc * (1 - acc) / n)) if n else float("nan"),
        "genuine_accepted": float(said[same].mean()) if same.any() else float("nan"),
        "impostor_rejected": float((~said[~same]).mean()) if (~same).any() else float("nan"),
        "auc": _auc(scores, labels),
        "chance": float(max(same.mean(), 1 - same.mean())) if n else float("nan"),
        "n_pairs": float(n),
        "n_genuine": float(same.sum()),
        "n_impostor": float((~same).sum()),
    }


# --------------------------------------------------------------------------- training


def _sample_views(
    by_id: list[list[int]], k: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``k`` distinct identities of ``by_id`` (each with two or more views), two distinct
    views of each -> (2k,) image indices and (2k,) identity numbers."""
    idx, ident = [], []
    for g in torch.randperm(len(by_id), generator=gen)[:k].tolist():
        views = by_id[g]
        for v in torch.randperm(len(views), generator=gen)[:2].tolist():
            idx.append(views[v])
            ident.append(g)
    return torch.tensor(idx), torch.tensor(ident)


def train_verifier(
    train: FaceSet,
    val: FaceSet,
    val_pairs: Sequence[Pair],
    *,
    steps: int = 600,
    identities_per_step: int = 16,
    lr: float = 3e-4,
    seed: int = 0,
    eval_every: int = 50,
    model_kwargs: Mapping[str, Any] | None = None,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train ``face_siamese`` on ``train``'s depth; keep the step best on ``val_pairs``.

    Each step draws ``identities_per_step`` identities (K) of ``train`` and two views of
    each (torch generator seeded with ``seed``), embeds the 2K images in one batch and
    scores every pair among them: K genuine and 2K(K-1) impostor pairs. The loss is binary
    cross-entropy on the logit, the mean over genuine pairs and the mean over impostor
    pairs weighted equally (the balance of seed 001's pair sets). Adam (``lr``, betas 0.5
    and 0.999 as seed 001's other networks). Every ``eval_every`` steps and at the last,
    accuracy on ``val_pairs`` (threshold 0.5); the weights of the best (ties: the lower
    validation loss) are returned, in eval mode.

    Args:
        train, val: preprocessed faces (:func:`load_face_set`).
        val_pairs: the fixed validation pairs over ``val``.
        steps, identities_per_step, lr, seed, eval_every: training settings.
        model_kwargs: settings of ``face_siamese`` other than ``image_size``.
        device: auto | cpu | cuda | cuda:N.
        progress: a progress bar (loss, validation accuracy).

    Returns:
        (model, history) with history ``{"best_step", "best_val_accuracy",
        "log": [[step, train_loss, val_loss, val_accuracy], ...]}``.

    Raises:
        InputError: a bad setting, or ``train`` with fewer than two identities that have
            two views.
        RuntimeError: the loss became NaN or infinite.
    """
    from tqdm.auto import tqdm

    from rgb2depth.devices import resolve_device
    from rgb2depth.models import create_model

    checks = (("steps", steps), ("identities_per_step", identities_per_step))
    for what, v in (*checks, ("eval_every", eval_every)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"{what} must be a positive integer, got {v!r}")
    if identities_per_step < 2:
        raise InputError(f"identities_per_step must be at least 2, got {identities_per_step}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise InputError(f"learning rate must be a positive number, got {lr!r}")
    groups: dict[str, list[int]] = {}
    for i, g in enumerate(train.identities):
        groups.setdefault(g, []).append(i)
    by_id = [groups[g] for g in sorted(groups) if len(groups[g]) >= 2]
    if len(by_id) < 2:
        raise InputError(
            f"train split: too few identities for face verification: {len(by_id)} with two "
            "or more views (needs at least 2)"
        )
    k = min(identities_per_step, len(by_id))
    dev = resolve_device(device)
    torch.manual_seed(seed)
    size = int(train.images.shape[-1])
    model = create_model(MODEL_NAME, image_size=size, **dict(model_kwargs or {})).to(dev)
    net = cast("FaceSiamese", model)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    pi, pj = torch.triu_indices(2 * k, 2 * k, 1)
    val_y = pair_labels(val_pairs)
    log: list[list[float]] = []
    best: tuple[float, float] = (-1.0, float("inf"))
    best_state: dict[str, torch.Tensor] = {}
    best_step = 0
    running = 0.0
    bar = tqdm(range(1, steps + 1), desc="train verifier", unit="step", disable=not progress)
    for step in bar:
        model.train()
        idx, ident = _sample_views(by_id, k, gen)
        e = net.embed(train.images[idx].to(dev))
        logit = net.head((e[pi] - e[pj]).abs())[:, 0].float()
        same = (ident[pi] == ident[pj]).to(dev)
        bce = F.binary_cross_entropy_with_logits(logit, same.float(), reduction="none")
        loss = 0.5 * (bce[same].mean() + bce[~same].mean())
        if not torch.isfinite(loss):
            raise RuntimeError(f"verifier training diverged at step {step} (loss {loss.item()})")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = loss.item() if step == 1 else 0.9 * running + 0.1 * loss.item()
        if step % eval_every == 0 or step == steps:
            s = pair_scores(model, val, val_pairs)
            p = np.clip(s, 1e-7, 1 - 1e-7)
            v_loss = float(-(val_y * np.log(p) + (1 - val_y) * np.log(1 - p)).mean())
            v_acc = verification_metrics(s, val_y)["accuracy"]
            log.append([step, round(running, 5), round(v_loss, 5), round(v_acc, 5)])
            if (v_acc, -v_loss) > (best[0], -best[1]):
                best, best_step = (v_acc, v_loss), step
                best_state = {n: t.detach().clone() for n, t in model.state_dict().items()}
            bar.set_postfix(loss=f"{running:.3f}", val_acc=f"{v_acc:.3f}", best=f"{best[0]:.3f}")
    model.load_state_dict(best_state)
    model.eval()
    return model, {"best_step": best_step, "best_val_accuracy": best[0], "log": log}


# --------------------------------------------------------------------------- run folder


@dataclass
class VerifierRun:
    """A trained verifier and what it was trained and checked on (a run folder).

    Attributes:
        model: ``face_siamese`` in eval mode.
        settings: the contents of ``verifier.json``.
        val_pairs, test_pairs: the fixed pairs (from ``pairs-val.json``, ``pairs-test.json``).
        folder: the run folder.
    """

    model: torch.nn.Module
    settings: dict[str, Any]
    val_pairs: list[Pair]
    test_pairs: list[Pair]
    folder: Path


def dataset_fingerprint(root: str | Path) -> str:
    """sha256 (16 hex digits) of ``dataset.json`` and every split's sample -> identity map.

    Two folders with the same fingerprint hold the same samples and identities under the
    same description (the same ``generate`` arguments give the same fingerprint).
    """
    from rgb2depth.data.format import read_info

    info = read_info(root).to_json()
    ids = {s: read_identities(root, s) for s in SPLITS}
    blob = json.dumps({"info": info, "identities": ids}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _check_splits(root: Path) -> None:
    missing = [s for s in SPLITS if not (root / s / "depth").is_dir()]
    if missing:
        raise InputError(
            f"{root}: face verification needs train, val and test splits; missing: "
            f"{', '.join(missing)}"
        )


def load_verifier(folder: str | Path, *, device: str | torch.device = "cpu") -> VerifierRun:
    """Load a run folder written by :func:`verify` (weights via safetensors only).

    Raises:
        InputError: not a verifier run folder, or a broken one.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from rgb2depth.devices import resolve_device
    from rgb2depth.models import create_model

    folder = Path(folder)
    path = folder / SETTINGS_FILE
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
        if settings.get("format") != RUN_FORMAT:
            raise ValueError
        kwargs = dict(settings["model"]["kwargs"])
        size = int(settings["input"]["size"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InputError(
            f"{path}: not a verifier settings file (written by rgb2depth verify)"
        ) from None
    model = create_model(MODEL_NAME, **kwargs)
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
        model.load_state_dict(state)
    except (OSError, SafetensorError, RuntimeError) as e:
        raise InputError(
            f"{folder / WEIGHTS_FILE}: cannot load the verifier's weights ({e})"
        ) from None
    if getattr(model, "image_size", (size, size)) != (size, size):
        raise InputError(f"{path}: model image_size and input size {size} disagree")
    model = model.to(resolve_device(device)).eval()
    val_pairs, _ = read_pairs(folder / PAIR_FILES["val"])
    test_pairs, _ = read_pairs(folder / PAIR_FILES["test"])
    return VerifierRun(model, settings, val_pairs, test_pairs, folder)


def make_run_pairs(
    root: str | Path, *, n_pairs: int | None = None, seed: int = 0
) -> tuple[list[Pair], list[Pair]]:
    """The fixed (val, test) pairs of a dataset: :func:`make_pairs` with ``seed`` and
    ``seed + 1``.

    Raises:
        InputError: a split with no identities or too few.
    """
    ids = {s: read_identities(root, s) for s in SPLITS}
    for s in SPLITS:
        check_identities(ids[s], f"{Path(root) / s}")
    val = make_pairs(ids["val"], n_pairs=n_pairs, seed=seed)
    return val, make_pairs(ids["test"], n_pairs=n_pairs, seed=seed + 1)


def _train_run(
    root: Path,
    folder: Path,
    val_pairs: list[Pair],
    test_pairs: list[Pair],
    *,
    steps: int,
    identities_per_step: int,
    lr: float,
    seed: int,
    normalize: str,
    crop: str,
    region: str,
    size: int,
    n_pairs: int | None,
    device: str | torch.device,
    progress: bool,
) -> VerifierRun:
    """Train the verifier and write the run folder (atomically: complete or absent)."""
    from safetensors.torch import save_file

    from rgb2depth.data.format import read_info
    from rgb2depth.data.io import atomic_dir

    info = read_info(root)
    kw: dict[str, Any] = {"size": size, "normalize": normalize, "crop": crop, "region": region}
    kw["progress"] = progress
    train = load_face_set(root, "train", desc="read train", **kw)
    val = load_face_set(root, "val", desc="read val", **kw)
    model, history = train_verifier(
        train,
        val,
        val_pairs,
        steps=steps,
        identities_per_step=identities_per_step,
        lr=lr,
        seed=seed,
        eval_every=max(1, min(50, steps // 10)),
        device=device,
        progress=progress,
    )
    ids = {s: read_identities(root, s) for s in SPLITS}
    fingerprint = dataset_fingerprint(root)
    settings = {
        "format": RUN_FORMAT,
        "version": 1,
        "model": {"name": MODEL_NAME, "kwargs": {"image_size": size}},
        "input": {
            "size": size,
            "normalize": normalize,
            "crop": crop,
            "region": region,
            "depth_units": info.depth_units,
            "depth_range": list(info.depth_range),
            "invalid_fill": FILL,
        },
        "data": {
            "path": str(root),
            "name": info.name,
            "fingerprint": fingerprint,
            "identities": {s: len(set(ids[s].values())) for s in SPLITS},
            "samples": {s: len(ids[s]) for s in SPLITS},
        },
        "training": {
            "steps": steps,
            "identities_per_step": identities_per_step,
            "lr": lr,
            "seed": seed,
            "n_pairs": n_pairs,
            **history,
        },
        "pairs": dict(PAIR_FILES),
    }
    meta = {"data": info.name, "fingerprint": fingerprint}
    with atomic_dir(folder) as tmp:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE))
        (tmp / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        write_pairs(tmp / PAIR_FILES["val"], val_pairs, split="val", seed=seed, **meta)
        write_pairs(tmp / PAIR_FILES["test"], test_pairs, split="test", seed=seed + 1, **meta)
    return VerifierRun(model, settings, val_pairs, test_pairs, folder)


def _pred_depth_of(pred_dir: Path, root: Path, names: Sequence[str]) -> Callable[[str], np.ndarray]:
    """name -> depth from ``pred_dir``'s files, found as ``rgb2depth evaluate --pred`` finds
    them (:func:`rgb2depth.evaluation.find_prediction`); all are located before any is read.

    Raises:
        InputError: a missing folder or file, a ``NAME_depth.png`` without its JSON file.
    """
    from rgb2depth.data.format import read_info
    from rgb2depth.evaluation import locate_predictions, read_prediction

    if not pred_dir.is_dir():
        raise InputError(f"prediction folder not found: {pred_dir}")
    located = dict(
        zip(
            names,
            locate_predictions(
                pred_dir, names, read_info(root), what="predictions of the test pairs"
            ),
            strict=True,
        )
    )

    def depth_of(name: str) -> np.ndarray:
        return read_prediction(*located[name])

    return depth_of


def _model_depth_fn(name: str, units: str, *, device: str, tta: str | None) -> tuple[DepthFn, str]:
    """(RGB -> depth of the model ``name``, the framing it was trained on: full | face)."""
    from rgb2depth.inference.predictor import Predictor

    predictor = Predictor.from_pretrained(name, device=device)
    if predictor.units != units:
        raise InputError(f"model {name} predicts {predictor.units} but the dataset holds {units}")
    return (lambda rgb: predictor.predict(rgb, tta=tta)), predictor.framing


def verify(
    data: str | Path,
    out: str | Path,
    *,
    models: Sequence[str] = (),
    preds: Sequence[str | Path] = (),
    steps: int | None = None,
    identities_per_step: int = 16,
    lr: float = 3e-4,
    seed: int = 0,
    normalize: str | None = None,
    crop: str | None = None,
    region: str | None = None,
    size: int = DEFAULT_SIZE,
    n_pairs: int | None = None,
    controls: bool = True,
    device: str = "auto",
    tta: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train a verifier on ``data``'s ground-truth depth (or reuse ``out``'s) and score the
    test pairs with ground truth, each model's depth, each prediction folder's depth.

    Args:
        data: dataset folder with train, val and test splits and identities (meta.jsonl).
        out: the verifier's run folder: reused when it holds one (trained on the same
            data: same fingerprint), else created.
        models: bundled model names or saved model folders; each predicts from the RGB
            image of every test sample.
        preds: folders of prediction files for the test samples (as ``evaluate --pred``).
        steps: training steps (default :data:`DEFAULT_STEPS`; only when training).
        identities_per_step, lr, seed: training settings; ``seed`` also draws the pairs.
        normalize: ``"range"`` or ``"centered"`` (default: centered for the ``face``
            region, where the face's distance would swamp its relief, range for
            ``head``); a reused run keeps its own.
        crop: ``"auto"`` (default: seed 001's face crop where the dataset gives head
            centres and a camera, else the images as framed), ``"seed"`` or ``"none"``
            (:func:`resolve_crop`); a reused run keeps its own. With the seed crop a
            model trained on face crops (``framing: face``) is given the seed crop of
            the RGB image, any other model the whole image (its depth is then cut).
        region: ``"face"`` (default: only the middle of the framed map, so that the
            head's outline, which generated depth read on the ground truth's valid
            pixels would copy, tells nothing) or ``"head"`` (all of it, as seed 001);
            a reused run keeps its own.
        size: the verifier's input side.
        n_pairs: pairs per split (default: every genuine pair and as many impostors).
        controls: add the ``silhouette`` control row.
        device: where the verifier and the models run.
        tta: test-time augmentation of the models (``"flip"`` or None).
        progress: progress bars.

    Returns:
        ``{"format", "version", "data", "run", "trained", "verifier": {...},
        "threshold", "rows": [{"source", "kind", **verification_metrics}, ...]}``;
        the rows are ground truth, the controls, then models and prediction folders in
        the order given, then ``chance``.

    Raises:
        InputError: a bad dataset (no identities, too few, missing splits), a run folder
            trained on other data or with other settings, a bad model or prediction folder.
    """
    from rgb2depth.data.format import read_info
    from rgb2depth.data.io import check_writable

    root, folder = Path(data), Path(out)
    info = read_info(root)
    _check_splits(root)
    reuse = (folder / SETTINGS_FILE).is_file()
    run: VerifierRun | None = None
    if reuse:
        run = load_verifier(folder, device=device)
        saved = run.settings
        fp = dataset_fingerprint(root)
        if saved["data"]["fingerprint"] != fp:
            raise InputError(
                f"{folder} holds a verifier trained on other data ({saved['data']['name']}, "
                f"fingerprint {saved['data']['fingerprint']}; {root} has {fp}); use another --out"
            )
        have_crop = saved["input"].get("crop", "none")
        have_region = saved["input"].get("region", "head")
        asked = {"normalize": normalize, "steps": steps, "crop": crop, "region": region}
        have = {
            "normalize": saved["input"]["normalize"],
            "steps": saved["training"]["steps"],
            "crop": have_crop if crop != "auto" else "auto",
            "region": have_region,
        }
        for k, v in asked.items():
            if v is not None and v != have[k]:
                raise InputError(
                    f"{folder} holds a verifier with {k} {have[k]}, not {v}; drop that option "
                    "to reuse it, or use another --out"
                )
        test_pairs = run.test_pairs
        norm, side = saved["input"]["normalize"], int(saved["input"]["size"])
        framing, part = have_crop, have_region
    else:
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise InputError(
                f"{folder} exists and is not a verifier run folder (no {SETTINGS_FILE}); "
                "use another --out"
            )
        check_writable(folder, what="run folder")
        framing, part = resolve_crop(root, crop or "auto"), region or "face"
        if part not in REGIONS:
            raise InputError(f"unknown region {part!r}; use {' or '.join(REGIONS)}")
        norm, side = normalize or ("centered" if part == "face" else "range"), size
        if norm not in NORMALIZATIONS:
            raise InputError(f"unknown normalization {norm!r}; use {' or '.join(NORMALIZATIONS)}")
        val_pairs, test_pairs = make_run_pairs(root, n_pairs=n_pairs, seed=seed)
    names = sorted({x for p in test_pairs for x in (p.a, p.b)})
    # every model and prediction folder is checked before the long part
    generated: list[tuple[str, str, dict[str, Any]]] = []
    for m in models:
        fn, trained_on = _model_depth_fn(m, info.depth_units, device=device, tta=tta)
        given = "crop" if framing == "seed" and trained_on == "face" else "frame"
        generated.append((m, "model", {"depth_fn": fn, "model_input": given}))
    for p in preds:
        of = _pred_depth_of(Path(p), root, names)
        generated.append((str(p), "pred", {"depth_of": of, "desc": f"read {p}"}))
    if run is None:
        run = _train_run(
            root,
            folder,
            val_pairs,
            test_pairs,
            steps=DEFAULT_STEPS if steps is None else steps,
            identities_per_step=identities_per_step,
            lr=lr,
            seed=seed,
            normalize=norm,
            crop=framing,
            region=part,
            size=side,
            n_pairs=n_pairs,
            device=device,
            progress=progress,
        )
    sources: list[tuple[str, str, dict[str, Any]]] = [("ground truth", "gt", {})]
    if controls:
        sources.append(("silhouette", "control", {"control": "silhouette"}))
    labels = pair_labels(test_pairs)
    kw: dict[str, Any] = {"size": side, "normalize": norm, "crop": framing, "region": part}
    kw["names"] = names
    rows = []
    for label, kind, opts in [*sources, *generated]:
        extra: dict[str, Any] = {"desc": f"read test ({label})", **opts}
        faces = load_face_set(root, "test", progress=progress, **kw, **extra)
        row: dict[str, Any] = {"source": label, "kind": kind}
        if kind == "model":
            row["model_input"] = "seed crop" if extra["model_input"] == "crop" else "image"
        rows.append({**row, **_score(run, faces, labels)})
    chance = verification_metrics(np.zeros_like(labels), labels)
    rows.append({"source": "chance", "kind": "chance", **chance, "accuracy": chance["chance"]})
    return {
        "format": RESULT_FORMAT,
        "version": 1,
        "data": str(root),
        "run": str(folder),
        "trained": not reuse,
        "verifier": {
            "normalize": norm,
            "crop": framing,
            "region": part,
            "size": side,
            "fingerprint": run.settings["data"]["fingerprint"],
            "identities": run.settings["data"]["identities"],
            "training": {k: v for k, v in run.settings["training"].items() if k != "log"},
            "test_pairs": str(folder / PAIR_FILES["test"]),
        },
        "threshold": THRESHOLD,
        "rows": rows,
    }


def _score(run: VerifierRun, faces: FaceSet, labels: np.ndarray) -> dict[str, float]:
    return verification_metrics(pair_scores(run.model, faces, run.test_pairs), labels)
