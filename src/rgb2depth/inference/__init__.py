"""Inference: load a trained model and turn photos into depth maps (whole, or face mode)."""

from rgb2depth.inference.faces import FaceDepth, NoFaceError, predict_faces
from rgb2depth.inference.predictor import (
    DEFAULT_MODEL,
    Predictor,
    bundled_model_dir,
    bundled_models,
)

__all__ = [
    "DEFAULT_MODEL",
    "FaceDepth",
    "NoFaceError",
    "Predictor",
    "bundled_model_dir",
    "bundled_models",
    "predict_faces",
]
