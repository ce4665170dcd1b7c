"""The on-disk dataset folder format and its ``dataset.json``.

Layout (documented for users in ``docs/dataset-format.md``)::

    DIR/dataset.json
    DIR/<split>/rgb/<name>.png | .jpg | .jpeg
    DIR/<split>/depth/<name>.png (16-bit) | .npy | .tif | .tiff
    DIR/<split>/meta.jsonl          (optional: one JSON object per sample)

A 16-bit PNG depth count ``v`` means ``png_offset + png_scale * v`` in
``depth_units``; ``v == 0`` is invalid. ``.npy`` and ``.tiff`` depth hold float
values in ``depth_units`` directly, with ``invalid_value`` (and NaN) invalid.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from rgb2depth.errors import InputError

FORMAT_VERSION = 1
DEPTH_UNITS = ("m", "mm", "um", "relative")
RGB_EXTENSIONS = (".png", ".jpg", ".jpeg")
DEPTH_EXTENSIONS = (".png", ".npy", ".tif", ".tiff")


@dataclass
class DatasetInfo:
    """What ``dataset.json`` says about a dataset folder.

    Attributes:
        name: human-readable name.
        kind: what the scenes are (``"faces"``, ``"surfaces"``, ``"rooms"`` or free text).
        depth_units: one of :data:`DEPTH_UNITS`.
        depth_range: (min, max) valid depth in ``depth_units``, inclusive; also the
            range that maps to [-1, 1] for models.
        png_scale: ``depth_units`` per count of a 16-bit depth PNG.
        png_offset: ``depth_units`` at count 0 (count 0 itself is invalid).
        invalid_value: value marking invalid pixels in float depth files (NaN is
            always invalid too).
        intrinsics: pinhole ``{"fx", "fy", "cx", "cy"}`` in pixels at ``image_size``,
            or None when unknown or not a pinhole camera.
        image_size: (height, width) the intrinsics refer to, or None.
        paired: True when every split pairs RGB and depth by name; False when the
            ``unpaired_splits`` hold independent RGB and depth lists.
        unpaired_splits: splits whose RGB and depth are not matched by name.
        splits: split names present in the folder.
        extra: anything else (generator settings, licence, ...), kept as is.
    """

    name: str
    kind: str
    depth_units: str
    depth_range: tuple[float, float]
    png_scale: float = 1.0
    png_offset: float = 0.0
    invalid_value: float = 0.0
    intrinsics: dict[str, float] | None = None
    image_size: tuple[int, int] | None = None
    paired: bool = True
    unpaired_splits: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"dataset '{self.name}'"
        if self.depth_units not in DEPTH_UNITS:
            raise InputError(
                f"{where}: depth_units must be one of {', '.join(DEPTH_UNITS)}, "
                f"got {self.depth_units!r}"
            )
        try:
            lo, hi = (float(v) for v in self.depth_range)
        except (TypeError, ValueError):
            raise InputError(
                f"{where}: depth_range must be [min, max], got {self.depth_range!r}"
            ) from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise InputError(f"{where}: depth_range must be finite with min < max, got {[lo, hi]}")
        self.depth_range = (lo, hi)
        if not (isinstance(self.png_scale, (int, float)) and self.png_scale > 0):
            raise InputError(
                f"{where}: png_scale must be a positive number, got {self.png_scale!r}"
            )
        if self.intrinsics is not None:
            missing = {"fx", "fy", "cx", "cy"} - set(self.intrinsics)
            if missing:
                raise InputError(f"{where}: intrinsics lack {sorted(missing)}")
        if self.image_size is not None:
            self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    def is_paired(self, split: str) -> bool:
        """Whether RGB and depth of ``split`` are matched by name."""
        return split not in self.unpaired_splits

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["format_version"] = FORMAT_VERSION
        d["depth_range"] = list(self.depth_range)
        if self.image_size is not None:
            d["image_size"] = list(self.image_size)
        return d

    @classmethod
    def from_json(cls, data: Any, *, source: str = "dataset.json") -> DatasetInfo:
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        data = dict(data)
        data.pop("format_version", None)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(
                f"{source}: unknown key(s) {unknown}; valid keys: {', '.join(sorted(known))}"
            )
        missing = [k for k in ("name", "kind", "depth_units", "depth_range") if k not in data]
        if missing:
            raise InputError(f"{source}: missing required key(s) {missing}")
        try:
            return cls(**data)
        except InputError as e:
            raise InputError(f"{source}: {e}") from None
        except (TypeError, ValueError) as e:
            raise InputError(f"{source}: {e}") from None


def read_info(root: str | Path) -> DatasetInfo:
    """Read and validate ``root/dataset.json``.

    Raises:
        InputError: the folder or the file is missing, empty or malformed.
    """
    root = Path(root)
    if not root.exists():
        raise InputError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise InputError(f"dataset folder {root} is not a folder")
    path = root / "dataset.json"
    if not path.is_file():
        raise InputError(
            f"{path} not found: a dataset folder needs a dataset.json (see docs/dataset-format.md)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: malformed JSON ({e.msg} at line {e.lineno})") from None
    return DatasetInfo.from_json(data, source=str(path))


def list_split(root: str | Path, split: str, modality: str) -> dict[str, Path]:
    """Map sample name -> file for ``root/split/modality`` (``"rgb"`` or ``"depth"``).

    Raises:
        InputError: the folder is missing, or holds no file of an accepted type.
    """
    exts = RGB_EXTENSIONS if modality == "rgb" else DEPTH_EXTENSIONS
    folder = Path(root) / split / modality
    if not folder.is_dir():
        present = (
            sorted(p.name for p in Path(root).iterdir() if p.is_dir())
            if Path(root).is_dir()
            else []
        )
        raise InputError(f"{folder} not found (splits present: {', '.join(present) or 'none'})")
    files: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in exts:
            if p.stem in files:
                raise InputError(
                    f"{folder}: two files named {p.stem!r} ({files[p.stem].name}, {p.name})"
                )
            files[p.stem] = p
    if not files:
        raise InputError(f"{folder} holds no {modality} file ({', '.join(exts)})")
    return files


def read_meta(root: str | Path, split: str) -> dict[str, dict[str, Any]]:
    """Map sample name -> its row of ``split/meta.jsonl`` (empty when there is no file).

    Raises:
        InputError: a line that is not a JSON object with a ``name``.
    """
    path = Path(root) / split / "meta.jsonl"
    rows: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return rows
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise InputError(f"{path}:{i}: not JSON") from None
            if not isinstance(row, dict) or "name" not in row:
                raise InputError(f"{path}:{i}: expected a JSON object with a 'name'")
            rows[str(row["name"])] = row
    return rows


def read_groups(root: str | Path, split: str) -> dict[str, Any]:
    """Map sample name -> its group (identity, liner, room) from ``split/meta.jsonl``.

    Raises:
        InputError: no ``meta.jsonl``, or a line without ``name`` and ``group``.
    """
    path = Path(root) / split / "meta.jsonl"
    if not path.is_file():
        raise InputError(f"{path} not found: the samples' groups are needed to split domains")
    groups: dict[str, Any] = {}
    try:
        rows = read_meta(root, split)
    except InputError as e:
        raise InputError(f"{e}; expected JSON with 'name' and 'group'") from None
    for name, row in rows.items():
        if "group" not in row:
            raise InputError(f"{path}: sample {name!r} has no 'group'")
        groups[name] = row["group"]
    return groups
