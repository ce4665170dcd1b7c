"""rgb2depth: depth from a single photo.

Train monocular depth models on your own data (paired or unpaired), evaluate them
with the field's metrics, and deploy them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Predictor", "__version__"]


def __getattr__(name: str):
    # Lazy, so that ``import rgb2depth`` (and ``rgb2depth --help``) does not import torch.
    if name == "Predictor":
        from rgb2depth.inference import Predictor

        return Predictor
    raise AttributeError(f"module 'rgb2depth' has no attribute {name!r}")
