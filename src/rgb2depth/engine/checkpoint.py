"""Training checkpoints: a folder per step, written atomically, loaded without unpickling.

``<run>/checkpoints/step_00000500/`` holds

- ``weights.safetensors``: the method's ``state_dict`` (every network it trains);
- ``state.pt``: optimizer, scheduler and gradient-scaler states, the step, the number
  of batches consumed and the RNG states (torch CPU and CUDA, numpy, Python), saved
  with ``torch.save`` and read back with ``torch.load(weights_only=True)``, which
  only accepts tensors and plain containers.

The folder appears under its final name only once complete, so a crash while
saving leaves the previous checkpoint as the latest: its files, the folder and its
parent are flushed to the disk (``fsync``) before and after the rename, so this holds
after a power cut too. ``weights.safetensors`` carries in its metadata the SHA-256 of
``state.pt`` and of its own tensors; :func:`load_checkpoint` checks both, so a file
that was truncated, overwritten in part or swapped with another checkpoint's is
refused (with one line naming it) instead of resuming from wrong values. Checkpoints
saved before these checksums existed load without the check.

A distributed run (:mod:`rgb2depth.engine.distributed`) is saved by rank 0 alone
(every process holds the same weights and optimizer states); ``state.pt`` then also
holds ``world_size`` and every process's RNG states (``rng_ranks``).
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from rgb2depth.data.io import atomic_dir
from rgb2depth.errors import InputError

__all__ = [
    "capture_rng",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "restore_rng",
    "save_checkpoint",
    "seed_all",
    "tensors_sha256",
]

WEIGHTS = "weights.safetensors"
STATE = "state.pt"
_PATTERN = re.compile(r"^step_(\d{8})$")


def capture_rng() -> dict[str, Any]:
    """Every RNG state a training step may touch, as tensors and plain values."""
    np_state: Any = np.random.get_state()  # noqa: NPY002  (legacy global RNG, if anyone uses it)
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [
            str(np_state[0]),
            torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            *[int(v) if not isinstance(v, float) else float(v) for v in np_state[2:]],
        ],
        "python": _to_lists(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def seed_all(seed: int) -> None:
    """Seed every RNG that :func:`capture_rng` saves: torch (CPU and CUDA), numpy's
    global one and Python's, so that a run's RNG states follow from its seed alone."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (the legacy global RNG, as saved)
    random.seed(seed)


def _to_lists(x: Any) -> Any:
    return [_to_lists(v) for v in x] if isinstance(x, (tuple, list)) else x


def _to_tuples(x: Any) -> Any:
    return tuple(_to_tuples(v) for v in x) if isinstance(x, list) else x


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))  # noqa: NPY002
    random.setstate(_to_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _contiguous(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in sd.items()}


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of ``tensors`` (by name)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().data)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(
    run_dir: Path, step: int, weights: dict[str, torch.Tensor], state: dict[str, Any], *, keep: int
) -> Path:
    """Write ``checkpoints/step_<step>`` atomically and durably (``fsync``, see the module
    docstring) and keep only the newest ``keep``."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:08d}"
    weights = _contiguous(weights)
    with atomic_dir(final, overwrite=True, fsync=True) as tmp:
        torch.save(state, tmp / STATE)
        metadata = {
            "format": "rgb2depth-checkpoint",
            "state_sha256": file_sha256(tmp / STATE),
            "weights_sha256": tensors_sha256(weights),
        }
        save_file(weights, str(tmp / WEIGHTS), metadata=metadata)
    if keep > 0:
        for old in _checkpoints(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _checkpoints(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _PATTERN.match(p.name))


def list_checkpoints(root: str | Path) -> list[Path]:
    """The checkpoint folders (``step_<8 digits>``) in the folder ``root``, oldest first."""
    return _checkpoints(Path(root))


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    found = _checkpoints(Path(run_dir) / "checkpoints")
    return found[-1] if found else None


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint folder -> (weights, state).

    Raises:
        InputError: a missing folder or file, or a file that is not a valid checkpoint.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"checkpoint not found: {path}")
    for name in (WEIGHTS, STATE):
        if not (path / name).is_file():
            raise InputError(f"{path / name} is missing: {path} is not a complete checkpoint")
    try:
        weights = load_file(str(path / WEIGHTS))
        with safe_open(str(path / WEIGHTS), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path / WEIGHTS} is corrupt: {reason}") from None
    try:
        state = torch.load(path / STATE, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle/zip errors come in many types; never unpickle further
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"{path / STATE} is corrupt or not a checkpoint: {reason}") from None
    if not isinstance(state, dict) or "step" not in state:
        raise InputError(f"{path / STATE} is not a rgb2depth checkpoint (no step)")
    mismatch = "its contents differ from the checksum saved with the checkpoint"
    want = metadata.get("weights_sha256")
    if want is not None and tensors_sha256(weights) != want:
        raise InputError(f"{path / WEIGHTS} is corrupt: {mismatch}")
    want = metadata.get("state_sha256")
    if want is not None and file_sha256(path / STATE) != want:
        raise InputError(f"{path / STATE} is corrupt: {mismatch} in {WEIGHTS}")
    return weights, state
