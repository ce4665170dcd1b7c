"""Options that several commands share, defined once."""

from __future__ import annotations

import argparse

# The same names as rgb2depth.inference.predictor.TTA_MODES (kept here so that
# building the parser does not import torch).
TTA_CHOICES = ("none", "flip")


def add_inference_options(p: argparse.ArgumentParser, *, tta_help: str) -> None:
    """``--tta`` and ``--device`` for the commands that run a model."""
    p.add_argument("--tta", default="none", choices=TTA_CHOICES, help=tta_help)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto)")
