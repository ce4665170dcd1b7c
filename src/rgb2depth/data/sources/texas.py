"""Texas 3D Face Recognition Database (Texas-3DFRD) -> the folder format, seed 000's split.

What ``SRC`` must be (``rgb2depth convert texas SRC``): the database's folder as
unpacked. Its preprocessed image pairs are read from the first sub-folder whose name
starts with ``Preprocessed`` (``PreprocessedImages``, ``Preprocessed Images``, any case),
or from ``SRC`` itself when there is none, searched recursively. Each pair is a colour
image ``..._Portrait.png`` and a range image ``..._Range.png`` that share a name holding
the image number (4 digits) and the subject number (3 digits), ``<prefix>NNNN_SSS_...``,
as seed 000's preprocessing code reads them (characters 6-9 and 11-13 of the name);
any other file is ignored.

Depth (``depth_units`` ``"relative"``, ``depth_range`` [0, 1]): the range image's grey
level divided by its maximum code (255 for 8-bit, 65535 for 16-bit PNGs), so that 1 is
the near clipping plane of the stereo camera and 0 the background, the values seed 000
trains and evaluates on. **Larger is nearer.** Grey level 0 (background) is invalid.
Stored with ``png_scale`` 1/65535, so an 8-bit grey level ``k`` becomes count
``257 k`` exactly.

Split (seed 000, Section 4.2, as its authors' code does it): subjects in number order;
every 7th (the 7th, 14th, ...) is ``test`` (paired); the others alternate, in order,
between the RGB-only and the depth-only domain of ``train``, which is written as an
unpaired split (``unpaired_splits: ["train"]``): the even-ranked training subjects give
only their colour images, the odd-ranked only their range images, so no face is seen in
both domains. Each sample's ``meta.jsonl`` row names its subject under ``group``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from rgb2depth.data.sources import register_source
from rgb2depth.data.sources._writer import DatasetWriter
from rgb2depth.errors import InputError

TEST_EVERY = 7
"""Every 7th subject (in number order) is held out for evaluation (seed 000)."""

PNG_SCALE = 1.0 / 65535.0
"""Depth units per count of the written 16-bit PNG: [0, 1] onto 0..65535."""

_KINDS = ("portrait", "range")
_NAME = re.compile(r"(?P<image>\d{4})_(?P<subject>\d{3})_.*(?P<kind>portrait|range)", re.I)
LAYOUT = (
    "the Texas-3DFRD folder; its Preprocessed* sub-folder (or SRC itself) holding "
    "<prefix>NNNN_SSS_..._Portrait.png and ..._Range.png pairs (NNNN image, SSS subject)"
)


@dataclass(frozen=True)
class Pair:
    """One Texas-3DFRD image pair.

    Attributes:
        image: the image number (``NNNN`` of the file name).
        subject: the subject number (``SSS``).
        portrait: the colour image (PNG).
        range: the range image (grey PNG, larger is nearer).
    """

    image: int
    subject: int
    portrait: Path
    range: Path

    @property
    def name(self) -> str:
        """The sample name: ``NNNN_SSS`` (what seed 000's code calls ``ind``)."""
        return f"{self.image:04d}_{self.subject:03d}"


def seed000_split(subjects: list[int]) -> dict[int, tuple[str, str]]:
    """Seed 000's subject split: ``subject -> (split, domain)``.

    Subjects are ranked in number order; rank ``r`` (from 0) with ``r % 7 == 6`` (the
    7th, 14th, ... subject) is ``("test", "paired")``; the remaining subjects, in
    order, alternate between ``("train", "rgb")`` and ``("train", "depth")``, starting
    with ``"rgb"``.

    Raises:
        InputError: fewer than 7 subjects (no test subject).
    """
    ordered = sorted(set(subjects))
    if len(ordered) < TEST_EVERY:
        raise InputError(
            f"found {len(ordered)} subject(s); seed 000's split holds out every "
            f"{TEST_EVERY}th subject for testing, so at least {TEST_EVERY} are needed"
        )
    out: dict[int, tuple[str, str]] = {}
    k = 0
    for rank, s in enumerate(ordered):
        if rank % TEST_EVERY == TEST_EVERY - 1:
            out[s] = ("test", "paired")
        else:
            out[s] = ("train", "rgb" if k % 2 == 0 else "depth")
            k += 1
    return out


def _image_root(src: Path) -> Path:
    if not src.is_dir():
        raise InputError(f"{src}: expected the Texas-3DFRD folder, got a file ({LAYOUT})")
    for p in sorted(src.iterdir()):
        if p.is_dir() and re.sub(r"[\s_-]", "", p.name.lower()).startswith("preprocessed"):
            return p
    return src


def _partner(path: Path, kind: str) -> str:
    other = "Range" if kind == "portrait" else "Portrait"
    return path.stem[: len(path.stem) - len(kind)] + other + path.suffix


def find_pairs(src: Path) -> list[Pair]:
    """The image pairs under ``src`` (see the module docstring), in image-number order.

    Raises:
        InputError: a ``...Portrait.png`` / ``...Range.png`` whose name lacks
            ``NNNN_SSS_``, one without its partner, two files for one image, or no pair.
    """
    root = _image_root(src)
    found: dict[tuple[int, int], dict[str, Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() != ".png" or not path.is_file():
            continue
        kind = next((k for k in _KINDS if path.stem.lower().endswith(k)), None)
        if kind is None:
            continue
        m = _NAME.search(path.stem)
        if m is None or m.group("kind").lower() != kind:
            raise InputError(
                f"{path}: a Texas-3DFRD {kind} image must be named "
                f"<prefix>NNNN_SSS_..._{kind.capitalize()}.png (NNNN image number, "
                "SSS subject number)"
            )
        key = (int(m.group("image")), int(m.group("subject")))
        slot = found.setdefault(key, {})
        if kind in slot:
            raise InputError(
                f"{path}: a second {kind} image for image {key[0]:04d} of subject "
                f"{key[1]:03d} (the first is {slot[kind]}); keep one copy of the database"
            )
        slot[kind] = path
    pairs = []
    for (image, subject), slot in sorted(found.items()):
        if len(slot) == 1:
            ((kind, have),) = slot.items()
            raise InputError(
                f"{have}: no matching {_partner(have, kind)} found; every Texas-3DFRD "
                "image comes as a Portrait and Range pair"
            )
        pairs.append(Pair(image, subject, slot["portrait"], slot["range"]))
    if not pairs:
        raise InputError(
            f"{root}: no Texas-3DFRD image pair (..._Portrait.png with ..._Range.png) found"
        )
    return pairs


def read_range(path: Path) -> np.ndarray:
    """A Texas-3DFRD range image as (H, W) float64 in [0, 1] (1 near, 0 background).

    Raises:
        InputError: unreadable, or not a single-channel 8- or 16-bit PNG.
    """
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            arr = np.asarray(img)
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as e:
        raise InputError(f"{path}: not a readable PNG ({e})") from None
    if mode == "L":
        top = 255.0
    elif mode in ("I;16", "I;16B", "I;16L", "I"):
        top = 65535.0
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise InputError(f"{path}: range image values outside 0..65535")
    else:
        raise InputError(
            f"{path}: expected a single-channel 8- or 16-bit range image, got PIL mode {mode!r}"
        )
    return np.asarray(arr, dtype=np.float64) / top


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as img:
            w, h = img.size
            mode = img.mode
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as e:
        raise InputError(f"{path}: not a readable PNG ({e})") from None
    if mode not in ("RGB", "RGBA", "L", "LA", "P"):
        raise InputError(f"{path}: expected an 8-bit colour image, got PIL mode {mode!r}")
    return h, w


@register_source("texas", title="Texas-3DFRD", layout=LAYOUT)
def convert_texas(src: Path, writer: DatasetWriter, *, progress: bool) -> None:
    """Convert Texas-3DFRD with seed 000's unpaired split (see the module docstring)."""
    pairs = find_pairs(Path(src))
    plan = seed000_split([p.subject for p in pairs])
    writer.set_info(
        name="Texas-3DFRD",
        kind="faces",
        depth_units="relative",
        depth_range=[0.0, 1.0],
        png_scale=PNG_SCALE,
        png_offset=0.0,
        extra={
            "dataset": "Texas 3D Face Recognition Database (Gupta et al., SSIAI 2010)",
            "url": "https://live.ece.utexas.edu/research/texas3dfr/",
            "depth": "range image grey level / max code: 1 = near clipping plane, "
            "0 = background (invalid); larger is nearer",
            "split": "seed 000: every 7th subject (number order) is test; the other "
            "subjects alternate between train's RGB-only and depth-only domain",
        },
    )
    for subject, (split, domain) in sorted(plan.items()):
        n = sum(p.subject == subject for p in pairs)
        writer.add_group(f"{subject:03d}", split, domain=domain, images=n)
    writer.mark_unpaired("train")
    for pair in tqdm(pairs, desc="texas", unit="pair", disable=not progress):
        split, domain = plan[pair.subject]
        size = _image_size(pair.portrait)
        depth = read_range(pair.range)
        if depth.shape != size:
            raise InputError(
                f"{pair.range}: range image is {depth.shape} (H, W) but its portrait "
                f"{pair.portrait.name} is {size}; the pair must be pixel-aligned"
            )
        meta = {"group": f"{pair.subject:03d}", "image": pair.image, "domain": domain}
        writer.add(
            split,
            pair.name,
            rgb=pair.portrait if domain in ("paired", "rgb") else None,
            depth=depth if domain in ("paired", "depth") else None,
            valid=depth > 0,
            meta=meta,
        )
