"""Device selection, shared by training and inference (neither imports the other for it).

>>> from rgb2depth.devices import resolve_device
>>> resolve_device("auto")  # CUDA when available, else CPU
device(type='cpu')
"""

from __future__ import annotations

import torch

from rgb2depth.errors import InputError

__all__ = ["DEVICES", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda", "cuda:N")
"""The names a device setting accepts (``cuda:N``: a CUDA device index), as
:mod:`rgb2depth.config` and the commands' ``--device`` check them."""


def _or(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def resolve_device(device: str | torch.device) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; anything else is checked.

    Raises:
        InputError: an unknown or unsupported device, or CUDA asked for where there is none.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device {device!r}; use {_or(DEVICES)}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for, but CUDA is not available here")
    if dev.type not in ("cpu", "cuda"):
        raise InputError(f"unsupported device {device!r}; use {_or(DEVICES)}")
    return dev
