"""Models: one registry, the generators of the seed papers, saving and loading.

Registered models (see :func:`list_models` and ``get_entry(name).paper``):

- ``light_unet``: realtime light U-Net of seed 004, 1,218,870 parameters, stride 16.
- ``fast_unet``: the project's realtime network (strided stem, dense U-Net), stride 16.
- ``unet_baseline``: the classic U-Net baseline of seed 004, 17,262,977 parameters.
- ``face_cgan_generator``: the face depth generator of seed 001 (gray 96x96 in).
- ``depth_autoencoder``: the project's depth autoencoder, the feature network of the
  perceptual loss (seed 003), stride 8.

Build one with ``create_model(name, **settings)``; save and load a trained one with
:func:`save_model_folder` / :func:`load_model_folder`.
"""

from __future__ import annotations

# Importing the model modules registers them.
from rgb2depth.models import (  # noqa: F401
    autoencoder,
    critics,
    densenet_depth,
    face_cgan,
    fast_depth,
    generators,
    light_unet,
    pix2pix,
    siamese,
    unet,
)
from rgb2depth.models.pretrained import load_model_folder, read_model_config, save_model_folder
from rgb2depth.models.registry import (
    ModelEntry,
    check_input_size,
    count_parameters,
    create_model,
    describe_models,
    get_entry,
    gflops,
    image_to_depth_models,
    image_to_depth_probe,
    list_models,
    output_shape,
    register_model,
)

__all__ = [
    "ModelEntry",
    "check_input_size",
    "count_parameters",
    "create_model",
    "describe_models",
    "get_entry",
    "gflops",
    "image_to_depth_models",
    "image_to_depth_probe",
    "list_models",
    "load_model_folder",
    "output_shape",
    "read_model_config",
    "register_model",
    "save_model_folder",
]
