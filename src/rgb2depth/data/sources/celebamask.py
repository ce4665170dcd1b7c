"""CelebAMask-HQ -> an RGB-only folder (the extra RGB domain of seed 000, Appendix C).

What ``SRC`` must be (``rgb2depth convert celebamask SRC``): the ``CelebAMask-HQ``
folder as unpacked, holding ``CelebA-HQ-img/<idx>.jpg`` (30,000 portraits of
1024x1024, ``idx`` 0..29999) and ``CelebA-HQ-to-CelebA-mapping.txt`` (a header line
``idx orig_idx orig_file``, then e.g. ``0 119613 119614.jpg``: the CelebA image each
portrait was made from). ``SRC`` may also be the ``CelebA-HQ-img`` folder itself (the
mapping file is then looked for beside it). The masks, attributes and poses are not read.

What is written: every JPEG is copied unchanged to ``<split>/rgb/<idx:05d>.jpg``; no
depth (the dataset has none). ``meta.jsonl`` records the CelebA file of each image.
Every split is listed in ``unpaired_splits`` and ``extra.rgb_only`` is true; the depth
fields of ``dataset.json`` (``relative``, [0, 1], as Texas-3DFRD and Bosphorus) only
say which depth the faces go with. Use it as ``method.extra_rgb: OUT/train/rgb`` of the
``semisupervised`` method.

Split: CelebAMask-HQ uses CelebA's own partition ("the same train/val/test split as
the CelebA dataset"): CelebA images 000001-162770 are ``train``, 162771-182637 ``val``,
182638-202599 ``test``, read through the mapping's ``orig_file``; a CelebA
``list_eval_partition.txt`` (``000001.jpg 0``; 0 train, 1 val, 2 test) in ``SRC`` or
``SRC/Eval`` is used instead when present. (The dataset's own ``g_partition.py``
compares the 0-based ``orig_idx`` with these 1-based bounds, which moves two images
across a boundary; this converter follows CelebA's file numbers.) Without the mapping
file every image goes to ``train`` and ``extra.split`` says so.
"""

from __future__ import annotations

import re
from pathlib import Path

from tqdm.auto import tqdm

from rgb2depth.data.sources import register_source
from rgb2depth.data.sources._writer import DatasetWriter
from rgb2depth.errors import InputError

IMAGES = "CelebA-HQ-img"
MAPPING = "CelebA-HQ-to-CelebA-mapping.txt"
PARTITION = "list_eval_partition.txt"
CELEBA_BOUNDS = (162770, 182637)
"""Last CelebA file number of ``train`` and of ``val`` (the rest, to 202599, is ``test``)."""
_SPLITS = ("train", "val", "test")
_JPEG = b"\xff\xd8\xff"
LAYOUT = (
    "the CelebAMask-HQ folder with CelebA-HQ-img/<idx>.jpg and "
    "CelebA-HQ-to-CelebA-mapping.txt (RGB only, no depth)"
)


def _number(token: str) -> int | None:
    m = re.fullmatch(r"(\d+)(?:\.jpg)?", token, re.I)
    return int(m.group(1)) if m else None


def read_mapping(path: Path) -> dict[int, str]:
    """``CelebA-HQ-to-CelebA-mapping.txt`` -> ``{idx: orig_file}``.

    Raises:
        InputError: a line that is not ``idx orig_idx orig_file``, or an ``idx`` twice.
    """
    out: dict[int, str] = {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            parts = line.split()
            if not parts or (i == 1 and parts[0].lower() == "idx"):
                continue
            idx = _number(parts[0]) if len(parts) == 3 else None
            orig = _number(parts[2]) if len(parts) == 3 else None
            if idx is None or orig is None or not parts[2].lower().endswith(".jpg"):
                raise InputError(
                    f"{path}:{i}: expected 'idx orig_idx orig_file' (e.g. '0 119613 "
                    f"119614.jpg'), got {line.strip()[:80]!r}"
                )
            if idx in out:
                raise InputError(f"{path}:{i}: idx {idx} appears twice")
            out[idx] = parts[2]
    return out


def read_partition(path: Path) -> dict[int, str]:
    """CelebA's ``list_eval_partition.txt`` -> ``{file number: split}``.

    Raises:
        InputError: a line that is not ``NNNNNN.jpg 0|1|2``.
    """
    out: dict[int, str] = {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            number = _number(parts[0]) if len(parts) == 2 else None
            if number is None or parts[1] not in ("0", "1", "2"):
                raise InputError(
                    f"{path}:{i}: expected 'NNNNNN.jpg 0|1|2' (0 train, 1 val, 2 test), "
                    f"got {line.strip()[:80]!r}"
                )
            out[number] = _SPLITS[int(parts[1])]
    return out


def celeba_split(number: int) -> str:
    """CelebA's partition of image file ``number`` (1-based, ``000001.jpg`` is 1)."""
    if number <= CELEBA_BOUNDS[0]:
        return "train"
    return "val" if number <= CELEBA_BOUNDS[1] else "test"


def _folders(src: Path) -> tuple[Path, Path]:
    if not src.is_dir():
        raise InputError(f"{src}: expected the CelebAMask-HQ folder, got a file ({LAYOUT})")
    if src.name == IMAGES:
        return src, src.parent
    if (src / IMAGES).is_dir():
        return src / IMAGES, src
    raise InputError(f"{src}: no {IMAGES}/ folder in it; expected {LAYOUT}")


@register_source("celebamask", title="CelebAMask-HQ", layout=LAYOUT)
def convert_celebamask(src: Path, writer: DatasetWriter, *, progress: bool) -> None:
    """Copy CelebAMask-HQ's portraits into RGB-only splits (see the module docstring)."""
    images, root = _folders(Path(src))
    files: dict[int, Path] = {}
    for p in sorted(images.iterdir()):
        if not p.is_file() or p.suffix.lower() not in (".jpg", ".jpeg"):
            continue
        if not re.fullmatch(r"\d+", p.stem):
            raise InputError(f"{p}: expected a name <idx>.jpg with idx 0..29999")
        files[int(p.stem)] = p
    if not files:
        raise InputError(f"{images}: no <idx>.jpg image in it; expected {LAYOUT}")
    mapping = read_mapping(root / MAPPING) if (root / MAPPING).is_file() else None
    partition_file = next(
        (p for p in (root / PARTITION, root / "Eval" / PARTITION) if p.is_file()), None
    )
    partition = read_partition(partition_file) if partition_file is not None else None
    if mapping is None:
        how = f"train only: {MAPPING} not found, so CelebA's partition is unknown"
    elif partition is not None:
        how = f"CelebA's partition from {partition_file}"
    else:
        how = "CelebA's partition: CelebA files 1-162770 train, 162771-182637 val, rest test"
    writer.set_info(
        name="CelebAMask-HQ",
        kind="faces",
        depth_units="relative",
        depth_range=[0.0, 1.0],
        extra={
            "dataset": "CelebAMask-HQ (Lee et al., MaskGAN, CVPR 2020)",
            "url": "https://github.com/switchablenorms/CelebAMask-HQ",
            "rgb_only": True,
            "split": how,
            "images_missing": len(set(mapping) - set(files)) if mapping is not None else None,
        },
    )
    for idx, path in tqdm(
        sorted(files.items()), desc="celebamask", unit="image", disable=not progress
    ):
        with path.open("rb") as f:
            if f.read(3) != _JPEG:
                raise InputError(f"{path}: not a JPEG file (CelebA-HQ-img holds JPEG images)")
        meta: dict[str, object] = {"celebahq_idx": idx}
        split = "train"
        if mapping is not None:
            if idx not in mapping:
                raise InputError(f"{path}: idx {idx} is not in {root / MAPPING}")
            orig = mapping[idx]
            number = _number(orig)
            assert number is not None
            meta["celeba_file"] = orig
            if partition is not None:
                if number not in partition:
                    raise InputError(f"{partition_file}: no line for {orig} (CelebA-HQ {idx})")
                split = partition[number]
            else:
                split = celeba_split(number)
        writer.mark_unpaired(split)
        writer.add(split, f"{idx:05d}", rgb=path, meta=meta)
