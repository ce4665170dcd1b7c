"""Inference: load a trained model and turn photos into depth maps."""

from rgb2depth.inference.predictor import Predictor, bundled_model_dir, bundled_models

__all__ = ["Predictor", "bundled_model_dir", "bundled_models"]
