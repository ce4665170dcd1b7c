"""Perceptual (feature reconstruction) loss on depth maps, seed 003.

The loss is the L1 distance between features of a frozen network applied to the
predicted and to the true depth map. Two feature extractors, both read from local
files; nothing is ever downloaded:

``resnet50``
    :func:`resnet50_stage1`: the stem and first residual stage of an ImageNet
    ResNet-50 (seed 003: "the first residual block of size 56 x 56 x 256" for a
    224 x 224 input), weights from a torchvision state dict that the user saved.
``autoencoder``
    :func:`autoencoder_encoder`: the encoder of the project's own depth
    autoencoder, a saved model folder (trained on depth, no ImageNet file needed).

:func:`build_feature_extractor` picks one by name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch
from torch import Tensor, nn

from rgb2depth.errors import InputError
from rgb2depth.losses.pixel import check_mask, check_pair
from rgb2depth.models.pretrained import IMAGENET_MEAN, IMAGENET_STD, read_state_dict

RESNET50_HOWTO = (
    "nothing is downloaded: on a machine with torchvision, save the ImageNet weights with "
    "`import torchvision, safetensors.torch; safetensors.torch.save_file("
    'torchvision.models.resnet50(weights="IMAGENET1K_V2").state_dict(), "resnet50.safetensors")` '
    "and pass that file; or use the project's own depth autoencoder instead "
    "(method.perceptual=autoencoder with a saved model folder)"
)


class FrozenFeatureExtractor(nn.Module):
    """Base of the feature extractors: no trainable parameters, always in eval mode.

    Every parameter has ``requires_grad=False`` and :meth:`train` keeps the module
    and its children in eval mode (batch norm uses its running statistics, dropout
    is off) even when a parent module is put in training mode. Gradients still flow
    through the extractor to its input.
    """

    def freeze(self) -> None:
        """Set ``requires_grad=False`` on every parameter and switch to eval mode."""
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> FrozenFeatureExtractor:
        """Ignore ``mode``: the extractor stays in eval mode."""
        return super().train(False)


# -- ResNet-50, stem and layer1 (torchvision layout and state-dict names) ----------------------


class _Bottleneck(nn.Module):
    """torchvision's ResNet ``Bottleneck`` (v1.5: the stride sits on the 3x3 conv)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, downsample: nn.Module | None = None) -> None:
        super().__init__()
        width = planes
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50Stage1(FrozenFeatureExtractor):
    """ResNet-50 ``conv1, bn1, relu, maxpool, layer1`` as a frozen depth feature extractor.

    Parameter names are torchvision's (``conv1.weight``, ``bn1.running_mean``,
    ``layer1.0.downsample.0.weight``, ...), so a torchvision ``resnet50`` state dict
    loads into it directly (extra keys aside). Built with random weights; use
    :func:`resnet50_stage1` to load real ones.

    Input: (B, 1, H, W) depth in the model range [-1, 1]. It is mapped to [0, 1],
    repeated to 3 channels and normalised with the ImageNet mean and std.
    Output: (B, 256, ceil(H/4), ceil(W/4)) features (56 x 56 for a 224 x 224 input).
    """

    mean: Tensor
    std: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        downsample = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256))
        self.layer1 = nn.Sequential(
            _Bottleneck(64, 64, downsample), _Bottleneck(256, 64), _Bottleneck(256, 64)
        )
        # Not persistent: they are constants, not weights to save with a checkpoint.
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)
        self.freeze()

    def forward(self, depth: Tensor) -> Tensor:
        if depth.ndim != 4 or depth.shape[1] != 1:
            raise InputError(f"expected (B, 1, H, W) depth, got {tuple(depth.shape)}")
        x = ((depth + 1.0) / 2.0).expand(-1, 3, -1, -1)
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer1(x)


def resnet50_stage1(weights: str | Path) -> ResNet50Stage1:
    """Load the frozen ResNet-50 stem + layer1 from a local torchvision state dict.

    Args:
        weights: a ``.safetensors`` file (read with :func:`safetensors.torch.load_file`)
            or a ``.pth`` / ``.pt`` file (read with ``torch.load(weights_only=True)``,
            never general unpickling) holding a torchvision ``resnet50`` state dict.
            Keys of the other layers (``layer2``..., ``fc``) are ignored; a ``module.``
            prefix (DataParallel) is stripped.

    Returns:
        A :class:`ResNet50Stage1` in eval mode with frozen parameters.

    Raises:
        InputError: the file is missing (the message says how to make it), has another
            extension, cannot be read, lacks keys the stage needs, or holds tensors of
            the wrong shape.
    """
    path = Path(weights).expanduser()
    if not path.is_file():
        raise InputError(f"ResNet-50 weights {path}: no such file; {RESNET50_HOWTO}")
    state = read_state_dict(path, "ResNet-50 weights")
    model = ResNet50Stage1()
    expected = model.state_dict()
    needed = [k for k in expected if not k.endswith("num_batches_tracked")]
    missing = [k for k in needed if k not in state]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise InputError(
            f"ResNet-50 weights {path}: not a torchvision resnet50 state dict, missing {shown}"
        )
    picked = {k: state[k] for k in expected if k in state}
    for k, v in picked.items():
        if not isinstance(v, Tensor) or v.shape != expected[k].shape:
            got = tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__
            raise InputError(
                f"ResNet-50 weights {path}: {k} should have shape "
                f"{tuple(expected[k].shape)}, got {got}"
            )
    model.load_state_dict(picked, strict=False)
    model.freeze()
    return model


# -- the project's depth autoencoder -----------------------------------------------------------


class EncoderFeatures(FrozenFeatureExtractor):
    """A frozen wrapper that returns ``model.encode(depth)``.

    Args:
        model: any module with an ``encode(x)`` method taking (B, 1, H, W) depth in the
            model range [-1, 1] and returning a feature tensor (the project's
            ``depth_autoencoder`` returns its bottleneck features).

    Raises:
        InputError: ``model`` has no callable ``encode``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not callable(getattr(model, "encode", None)):
            raise InputError(
                f"expected a model with an encode() method for perceptual features, "
                f"got {type(model).__name__}"
            )
        self.model = model
        self.freeze()

    def forward(self, depth: Tensor) -> Tensor:
        encode = cast("Callable[[Tensor], Tensor]", self.model.encode)
        return encode(depth)


def autoencoder_encoder(folder: str | Path) -> EncoderFeatures:
    """Load a saved depth autoencoder folder and return its frozen encoder.

    Args:
        folder: a model folder written by the project (read with
            :func:`rgb2depth.models.load_model_folder`), holding a model with an
            ``encode`` method such as the registered ``depth_autoencoder``.

    Returns:
        An :class:`EncoderFeatures` in eval mode with frozen parameters.

    Raises:
        InputError: the folder is missing or unreadable (from the loader), or its
            model has no ``encode`` method.
    """
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise InputError(
            f"autoencoder model folder {path}: no such folder (train a depth_autoencoder "
            "first, or use method.perceptual=resnet50 with a weights file)"
        )
    from rgb2depth.models import load_model_folder

    model, _config = load_model_folder(path)
    return EncoderFeatures(model)


FEATURE_SOURCES: dict[str, Callable[[Path], FrozenFeatureExtractor]] = {
    "resnet50": resnet50_stage1,
    "autoencoder": autoencoder_encoder,
}


def build_feature_extractor(source: str, path: str | Path | None) -> FrozenFeatureExtractor:
    """Build a frozen depth feature extractor by name.

    Args:
        source: ``"resnet50"`` (``path`` is a weights file, see :func:`resnet50_stage1`)
            or ``"autoencoder"`` (``path`` is a model folder, see
            :func:`autoencoder_encoder`).
        path: the local file or folder to load.

    Raises:
        InputError: an unknown source (the message lists the accepted ones), no path,
            or the loader's own errors.
    """
    if source not in FEATURE_SOURCES:
        raise InputError(
            f"unknown perceptual feature source {source!r}; "
            f"expected one of {', '.join(FEATURE_SOURCES)}"
        )
    if path is None or str(path) == "":
        what = "weights file" if source == "resnet50" else "model folder"
        raise InputError(f"perceptual feature source {source!r} needs a path to its {what}")
    return FEATURE_SOURCES[source](Path(path))


def perceptual_loss(
    pred: Tensor, target: Tensor, extractor: nn.Module, mask: Tensor | None = None
) -> Tensor:
    """Seed 003's L_perceptual: mean |phi(target) - phi(pred)| over all feature elements.

    The target's features are computed without gradient; the prediction's carry the
    gradient back to ``pred`` (the extractor's own parameters are frozen). Masking:
    features have no per-pixel validity, so ``pred`` is replaced by ``target`` at
    invalid pixels before extraction; the prediction there then neither changes the
    value nor receives a gradient. No valid pixel gives 0.

    Args:
        pred: (B, 1, H, W) predicted depth, model range [-1, 1].
        target: (B, 1, H, W) true depth, model range.
        extractor: a module mapping (B, 1, H, W) depth to features (B, C', H', W').
        mask: optional (B, 1, H, W) bool, True where ``target`` is valid.

    Returns:
        0-d tensor, in feature units.

    Raises:
        InputError: bad shapes or mask.
    """
    check_pair(pred, target)
    mask = check_mask(mask, pred)
    if mask is not None:
        pred = pred.where(mask, target)
    with torch.no_grad():
        target_features = extractor(target)
    return (extractor(pred) - target_features).abs().mean()


class PerceptualLoss(nn.Module):
    """Module form of :func:`perceptual_loss` holding its feature extractor.

    Args:
        extractor: a frozen feature extractor, e.g. from :func:`build_feature_extractor`.
    """

    def __init__(self, extractor: nn.Module) -> None:
        super().__init__()
        self.extractor = extractor

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        return perceptual_loss(pred, target, self.extractor, mask)
