"""Writing a converted dataset into the folder format, sample by sample.

A converter sets the :class:`~rgb2depth.data.format.DatasetInfo` fields once
(:meth:`DatasetWriter.set_info`), then adds samples (:meth:`DatasetWriter.add`); each is
written at once, so memory stays constant in the number of samples. Depth is stored as
16-bit PNG with the info's ``png_scale`` / ``png_offset`` (count 0 = invalid), RGB as
PNG (or the source's JPEG bytes, copied unchanged). :meth:`DatasetWriter.finish` writes
``meta.jsonl`` per split, ``groups.jsonl`` and ``dataset.json``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from rgb2depth.data.format import DatasetInfo
from rgb2depth.data.io import default_valid, encode_depth_png
from rgb2depth.errors import InputError

CONVERTER_KEY = "converter"
"""``dataset.json`` ``extra`` key that marks a folder written by ``rgb2depth convert``."""


def _encoded_suffix(data: bytes) -> str | None:
    """``.jpg`` / ``.png`` for the bytes of a JPEG / PNG file (by its signature), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    return None


class DatasetWriter:
    """Writes one dataset folder (the temporary one that ``sources.convert`` made).

    Args:
        root: the folder to fill.
        source: the registered source name (recorded in ``dataset.json``).
        src: the path converted (recorded in ``dataset.json``).
    """

    def __init__(self, root: str | Path, *, source: str, src: str | Path) -> None:
        self.root = Path(root)
        self.source = source
        self.src = str(src)
        self._info: dict[str, Any] | None = None
        self._meta: dict[str, list[str]] = {}
        self._groups: dict[Any, dict[str, Any]] = {}
        self._counts: dict[str, dict[str, int]] = {}
        self._unpaired: set[str] = set()
        self._names: dict[tuple[str, str], set[str]] = {}

    # -- set-up ---------------------------------------------------------------------------

    def set_info(self, **fields: Any) -> None:
        """The :class:`DatasetInfo` fields (``name``, ``kind``, ``depth_units``,
        ``depth_range``, ``png_scale``, ``png_offset``, ``intrinsics``, ``image_size``,
        ``extra``) of the converted dataset. ``splits``, ``paired`` and
        ``unpaired_splits`` are filled in by :meth:`finish`.
        """
        for key in ("splits", "paired", "unpaired_splits"):
            if key in fields:
                raise ValueError(f"set_info: {key} is filled in by finish()")
        DatasetInfo(**fields)  # validate now, before any file is written
        self._info = dict(fields)

    def mark_unpaired(self, split: str) -> None:
        """Declare ``split`` unpaired: its RGB and depth lists are independent."""
        self._unpaired.add(split)

    @property
    def info(self) -> DatasetInfo:
        if self._info is None:
            raise RuntimeError("DatasetWriter.set_info() must be called before adding samples")
        return DatasetInfo(**self._info)

    # -- samples --------------------------------------------------------------------------

    def _claim(self, split: str, modality: str, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"bad sample name {name!r}")
        seen = self._names.setdefault((split, modality), set())
        if name in seen:
            raise InputError(f"two {modality} samples named {name!r} in split {split!r}")
        seen.add(name)
        folder = self.root / split / modality
        folder.mkdir(parents=True, exist_ok=True)
        self._counts.setdefault(split, {"rgb": 0, "depth": 0})[modality] += 1
        return folder

    def add(
        self,
        split: str,
        name: str,
        *,
        rgb: np.ndarray | str | Path | bytes | None = None,
        depth: np.ndarray | None = None,
        valid: np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Write one sample.

        Args:
            split: ``train``, ``val``, ``test`` or any name.
            name: the sample name (file stem), unique within the split.
            rgb: (H, W, 3) uint8 RGB (written as PNG), or the path of a JPEG / PNG file of
                the source, copied unchanged, or the bytes of such a file (a member of a
                zip archive, say), written unchanged; None for a depth-only sample.
            depth: (H, W) float depth in the info's ``depth_units``; None for an RGB-only
                sample.
            valid: (H, W) bool, the valid depth pixels (default: finite and not 0).
            meta: what to record for the sample in ``split/meta.jsonl`` (``group`` for
                its identity, subject or scene, and anything else JSON can hold).
        """
        info = self.info
        if rgb is not None:
            folder = self._claim(split, "rgb", name)
            if isinstance(rgb, bytes):
                suffix = _encoded_suffix(rgb)
                if suffix is None:
                    raise InputError(f"RGB of sample {name!r}: expected JPEG or PNG bytes")
                (folder / f"{name}{suffix}").write_bytes(rgb)
            elif isinstance(rgb, (str, Path)):
                suffix = Path(rgb).suffix.lower()
                if suffix == ".jpeg":
                    suffix = ".jpg"
                if suffix not in (".jpg", ".png"):
                    raise InputError(f"{rgb}: expected a JPEG or PNG image")
                shutil.copyfile(rgb, folder / f"{name}{suffix}")
            else:
                rgb = np.asarray(rgb)
                if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
                    raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
                Image.fromarray(rgb).save(folder / f"{name}.png", compress_level=1)
        if depth is not None:
            folder = self._claim(split, "depth", name)
            depth = np.asarray(depth, dtype=np.float64)
            if depth.ndim != 2:
                raise ValueError(f"depth must be (H, W), got {depth.shape}")
            if valid is None:
                mask = default_valid(depth)
            else:
                mask = np.asarray(valid, dtype=bool) & np.isfinite(depth)
            lo, hi = info.depth_range
            mask &= (depth >= lo) & (depth <= hi)  # outside the range: invalid (count 0)
            counts = encode_depth_png(
                depth, scale=info.png_scale, offset=info.png_offset, valid=mask
            )
            Image.fromarray(counts).save(folder / f"{name}.png", compress_level=1)
        if meta is not None or rgb is not None or depth is not None:
            row = {"name": name, **(meta or {})}
            self._meta.setdefault(split, []).append(json.dumps(row, sort_keys=True))

    def add_group(self, group: Any, split: str, **params: Any) -> None:
        """Record a group (subject, identity, scene) for ``groups.jsonl``."""
        self._groups[group] = {"group": group, "split": split, **params}

    # -- the end --------------------------------------------------------------------------

    def finish(self) -> DatasetInfo:
        """Write ``meta.jsonl``, ``groups.jsonl`` and ``dataset.json``.

        Raises:
            InputError: no sample was found in the source.
        """
        if not self._counts:
            raise InputError(f"{self.src}: no sample found to convert ({self.source})")
        fields = dict(self._info or {})
        splits: list[str] = [s for s in ("train", "val", "test") if s in self._counts]
        splits += sorted(s for s in self._counts if s not in splits)
        extra = dict(fields.pop("extra", {}) or {})
        extra[CONVERTER_KEY] = {"source": self.source, "src": self.src}
        extra["counts"] = {s: self._counts[s] for s in splits}
        unpaired = [s for s in splits if s in self._unpaired]
        info = DatasetInfo(
            **fields,
            paired=not unpaired,
            unpaired_splits=unpaired,
            splits=splits,
            extra=extra,
        )
        for split, lines in self._meta.items():
            (self.root / split / "meta.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if self._groups:
            with open(self.root / "groups.jsonl", "w", encoding="utf-8") as f:
                for row in self._groups.values():
                    f.write(json.dumps(row, sort_keys=True) + "\n")
        (self.root / "dataset.json").write_text(
            json.dumps(info.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return info
