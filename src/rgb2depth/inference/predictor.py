"""One-call inference: a photo in, a depth map in stated units out, at the photo's size.

>>> from rgb2depth import Predictor
>>> p = Predictor.from_pretrained("faces-light")      # a bundled model, no download
>>> depth = p.predict("face.png")                      # (H, W) float32, in p.units

A model is a saved model folder (``config.json`` + ``model.safetensors``, see
:mod:`rgb2depth.models.pretrained`): the name of a model bundled with the package
(:func:`bundled_models`) or a path, such as the ``model/`` folder of a training run.
Loading never unpickles.

An image file is read upright: its EXIF orientation (a phone's portrait photo) is
applied (:func:`rgb2depth.data.io.open_rgb`), so the depth map has the displayed
orientation and size. The image keeps its aspect ratio (letterbox): it is scaled so
that its long side (relative to the network's input) fills the input, the rest is
padded by mirroring the image's edge (reflect), the network runs, the padding is
cropped out of its prediction and the prediction is resized (bilinear) to the image's
own height and width. Scaling happens on the 8-bit image, before any conversion to
float (a JPEG is even decoded at a reduced scale), so memory follows the network's
input size; the one full-size array is the float32 depth map returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from rgb2depth.errors import InputError

if TYPE_CHECKING:
    from rgb2depth.inference.backends import BackendSpec, Runner
    from rgb2depth.inference.faces import FaceDepth

__all__ = [
    "TTA_MODES",
    "BatchedPredictions",
    "Predictor",
    "bundled_model_dir",
    "bundled_models",
    "check_backend_request",
]

TTA_MODES = (None, "none", "flip")


def _weights_root() -> Path:
    return Path(str(resources.files("rgb2depth") / "weights"))


def bundled_models() -> list[str]:
    """Names of the models that ship inside the package."""
    root = _weights_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def bundled_model_dir(name: str) -> Path:
    """The folder of a bundled model."""
    return _weights_root() / name


DEFAULT_MODEL = "faces"
"""The bundled model that ``demo``, ``predict`` and the scripts use when none is named."""


def find_model_folder(name_or_path: str | Path) -> Path:
    """The folder of a saved model given by path, or of a bundled model given by name.

    Raises:
        InputError: neither an existing path nor a bundled name.
    """
    path = Path(name_or_path)
    if not path.exists() and str(name_or_path) in bundled_models():
        return bundled_model_dir(str(name_or_path))
    if not path.exists():
        known = ", ".join(bundled_models()) or "none"
        raise InputError(
            f"unknown model {str(name_or_path)!r}: not a model folder and not a bundled "
            f"model (bundled: {known})"
        )
    return path


def check_backend_request(
    name_or_path: str | Path,
    *,
    backend: str | BackendSpec | None,
    device: str | torch.device = "auto",
) -> BackendSpec:
    """The backend a model would run on, checked before anything is loaded: a known
    name, one the device can run (:func:`~rgb2depth.inference.backends.check_backend`),
    onnx for an exported ``.onnx`` file (its default), the ONNX packages present.

    Raises:
        InputError: any of these fails.
    """
    from rgb2depth.devices import resolve_device
    from rgb2depth.inference.backends import check_backend, parse_backend, require_onnx

    is_onnx = Path(name_or_path).suffix.lower() == ".onnx"
    spec = parse_backend(backend or ("onnx" if is_onnx else "torch"))
    if is_onnx and spec.engine != "onnx":
        raise InputError(
            f"{name_or_path} is an exported ONNX file: it runs on --backend onnx, not {spec.name}"
        )
    check_backend(spec, resolve_device(device))
    if spec.engine == "onnx":
        require_onnx("onnxruntime", *(() if is_onnx else ("onnx", "onnxscript")))
    return spec


def _as_rgb_image(image: Any, fit: tuple[int, int]) -> tuple[Any, tuple[int, int]]:
    """A path, PIL image or array -> (RGB PIL image, its full (H, W)).

    A path is read upright (EXIF orientation applied) and, for a JPEG, decoded at a
    reduced scale still covering ``fit``; a PIL image or an array is taken as it is.
    """
    from PIL import Image

    from rgb2depth.data.io import open_rgb

    if isinstance(image, (str, Path)):
        img, (h, w) = open_rgb(image, fit=fit)
        if h < 2 or w < 2:
            raise InputError(f"{image}: image too small: {w}x{h} (at least 2x2)")
        return img, (h, w)
    if isinstance(image, Image.Image):
        if image.width < 2 or image.height < 2:
            raise InputError(f"image too small: {image.width}x{image.height} (at least 2x2)")
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return rgb, (image.height, image.width)
    arr = _as_rgb_array(image)
    return Image.fromarray(arr), (arr.shape[0], arr.shape[1])


def _as_rgb_array(image: Any) -> np.ndarray:
    """An array -> (H, W, 3) uint8."""
    if not isinstance(image, np.ndarray):
        raise InputError(
            f"expected an image path, a PIL image or a numpy array, got {type(image).__name__}"
        )
    arr = image
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise InputError(f"expected an (H, W, 3) or (H, W) image, got shape {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[:, :, :3]
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise InputError(f"image too small: {arr.shape[1]}x{arr.shape[0]}")
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise InputError("a float image must hold finite values in [0, 1]")
        return (arr * 255.0).round().astype(np.uint8)
    raise InputError(f"expected a uint8 or float image, got dtype {arr.dtype}")


class Predictor:
    """A trained network plus what it needs to turn a photo into depth.

    Args:
        model: RGB (or gray) in [-1, 1] -> depth in model range [-1, 1]; None only
            with an ONNX ``runner`` or ``onnx_path`` (an exported file runs without it).
        config: the saved model's ``config.json`` (needs ``depth`` and ``input``).
        device: auto | cpu | cuda | cuda:N.
        source: names the model in messages and outputs.
        backend: how the network runs (:func:`~rgb2depth.inference.backends.parse_backend`):
            ``torch`` (default), ``torch-cl``, ``torch-bf16``, ``torch-compile`` (and
            combinations), ``onnx``.
        onnx_path: with ``backend="onnx"``, the exported file to run (default: ``model``
            exported into the cache folder, :func:`~rgb2depth.inference.export.cached_onnx`).
        threads: ONNX Runtime's intra-op threads (default: torch's).
        runner: a prepared runner (:func:`~rgb2depth.inference.backends.make_runner`);
            it overrides ``backend``.

    Attributes:
        units: depth units of :meth:`predict` (e.g. ``"mm"``).
        depth_range: (lo, hi) the model range [-1, 1] maps to.
        input_size: (H, W) the network sees.
        framing: ``"face"`` for a model trained on face crops (face mode,
            :meth:`predict_faces`, is its natural use), else ``"full"``.
        backend: the :class:`~rgb2depth.inference.backends.BackendSpec` it runs on.
        onnx_path: the ONNX file it runs (None on a torch backend).

    Raises:
        InputError: a config without depth or input entries, an unknown backend or one
            the device cannot run, the ONNX packages missing for ``onnx``.
    """

    def __init__(
        self,
        model: torch.nn.Module | None,
        config: dict[str, Any],
        *,
        device: str | torch.device = "auto",
        source: str = "",
        backend: str | BackendSpec | None = None,
        onnx_path: str | Path | None = None,
        threads: int | None = None,
        runner: Runner | None = None,
    ) -> None:
        from rgb2depth.data.transforms import build_transforms
        from rgb2depth.devices import resolve_device
        from rgb2depth.inference.backends import make_runner, parse_backend

        try:
            self.units = str(config["depth"]["units"])
            lo, hi = (float(v) for v in config["depth"]["range"])
            ih, iw = (int(v) for v in config["input"]["size"])
            self.input_size = (ih, iw)
            self.grayscale = bool(config["input"].get("grayscale", False))
            # "face": trained on face crops (generate --framing face); face mode suits it
            self.framing = str(config["input"].get("framing", "full"))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(
                f"{source or 'model'}: config.json lacks depth units/range or input size; "
                "was it saved by rgb2depth train?"
            ) from None
        self.depth_range = (lo, hi)
        self.config = config
        self.source = source
        try:
            self._transform = build_transforms(
                "none",
                size=self.input_size,
                depth_range=self.depth_range,
                grayscale=self.grayscale,
                train=False,
            )
        except InputError as e:  # a hand-edited config.json: say which file
            raise InputError(f"{source or 'model'}: config.json: {e}") from None
        self.device = resolve_device(device)
        self.onnx_path: Path | None = None
        if runner is None:
            spec = parse_backend(backend)
            if spec.engine == "onnx" and onnx_path is None:
                if model is None:
                    raise InputError("backend onnx needs a model or an exported .onnx file")
                from rgb2depth.inference.export import cached_onnx

                onnx_path = cached_onnx(model, config, source=source or "model")
            runner = make_runner(
                spec, self.device, model=model, onnx_path=onnx_path, threads=threads
            )
        self._run = runner
        self.backend: BackendSpec = runner.spec
        self.onnx_path = getattr(runner, "path", None)
        module = getattr(runner, "module", None)
        self.model: torch.nn.Module | None = module if module is not None else model

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | torch.device = "auto",
        backend: str | BackendSpec | None = None,
        threads: int | None = None,
    ) -> Predictor:
        """Load a bundled model by name, a saved model folder by path, or a ``.onnx``
        file written by ``rgb2depth export`` (it runs on the ``onnx`` backend, the
        default for it).

        Args:
            name_or_path: a bundled model name, a model folder or an exported ``.onnx``.
            device: auto | cpu | cuda | cuda:N.
            backend: see :class:`Predictor` (default ``torch``; ``onnx`` for a ``.onnx``).
            threads: ONNX Runtime's intra-op threads (default: torch's).

        Raises:
            InputError: neither a folder, a bundled name nor an exported file, a broken
                model folder or file, a torch backend asked for an ``.onnx`` file, or a
                backend this machine cannot run.
        """
        from rgb2depth.devices import resolve_device
        from rgb2depth.inference.backends import OnnxRunner
        from rgb2depth.models import load_model_folder

        path = Path(name_or_path)
        check_backend_request(name_or_path, backend=backend, device=device)
        if path.suffix.lower() == ".onnx" and path.is_file():
            from rgb2depth.inference.export import config_from_metadata

            runner = OnnxRunner(path, resolve_device(device), threads=threads)
            config = config_from_metadata(runner.metadata(), path)
            return cls(None, config, device=device, source=str(name_or_path), runner=runner)
        model, config = load_model_folder(find_model_folder(name_or_path))
        return cls(
            model, config, device=device, source=str(name_or_path), backend=backend, threads=threads
        )

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x).float().clamp(-1.0, 1.0)

    @torch.no_grad()
    def predict(self, image: Any, *, tta: str | None = None) -> np.ndarray:
        """Depth for one image.

        The image keeps its aspect ratio: it is scaled to fit the network's input
        (:attr:`input_size`), padded to it by reflection, and the padding is cropped
        off the prediction before it is resized to the image's size. An image file
        is read upright (its EXIF orientation applied); a PIL image or an array is
        taken as it is.

        Args:
            image: a file path, a PIL image, or an (H, W, 3) / (H, W) array (uint8, or
                float in [0, 1]).
            tta: ``"flip"`` averages the prediction of the image and (mirrored back)
                of its mirror image (seeds 003); None or ``"none"``: off.

        Returns:
            (H, W) float32 depth in :attr:`units`, at the image's own (upright) size.
        """
        return self.predict_batch([image], tta=tta)[0]

    @torch.no_grad()
    def predict_batch(self, images: Sequence[Any], *, tta: str | None = None) -> list[np.ndarray]:
        """Depth for several images, through the network as one batch.

        Each image is letterboxed to :attr:`input_size` exactly as :meth:`predict`
        does, so the results equal one-at-a-time predictions up to float rounding (the
        CPU's convolution kernels block by batch: about 1e-7 of the depth range).

        Args:
            images: what :meth:`predict` takes, any number (all in memory at the
                network's input size at once).
            tta: as :meth:`predict`.

        Returns:
            One (H, W) float32 depth map in :attr:`units` per image, in order.

        Raises:
            InputError: an unknown ``tta`` or any unreadable image (nothing is predicted).
        """
        if tta not in TTA_MODES:
            raise InputError(f"unknown tta {tta!r}; use none or flip")
        return self._predict_prepared([self._letterbox(image) for image in images], tta)

    def _predict_prepared(
        self, prepared: list[tuple[torch.Tensor, tuple[int, int], tuple[int, int, int, int]]], tta
    ) -> list[np.ndarray]:
        """:meth:`predict_batch` on images already letterboxed (:meth:`_letterbox`)."""
        from rgb2depth.data.transforms import depth_from_model_range

        if not prepared:
            return []
        x = torch.cat([p[0] for p in prepared]).to(self.device)
        pred = self._forward(x)
        if tta == "flip":
            pred = 0.5 * (pred + self._forward(x.flip(-1)).flip(-1))
        out = []
        for i, (_, (h, w), (top, left, ih, iw)) in enumerate(prepared):
            one = pred[i : i + 1, :, top : top + ih, left : left + iw]  # the padding cropped off
            depth = depth_from_model_range(one, self.depth_range)  # a new tensor, not a view
            if (h, w) != (ih, iw):
                shrink = h < ih or w < iw
                depth = F.interpolate(
                    depth, size=(h, w), mode="bilinear", align_corners=False, antialias=shrink
                )
            out.append(depth[0, 0].cpu().numpy())  # float32; no copy on the CPU
        return out

    def predict_faces(self, image: Any, *, tta: str | None = None) -> FaceDepth:
        """Face mode: depth of each face in ``image`` at its own size, NaN elsewhere.

        See :func:`rgb2depth.inference.faces.predict_faces`; returns its
        :class:`~rgb2depth.inference.faces.FaceDepth` (``.depth``, ``.faces``,
        ``.windows``) and raises its ``NoFaceError`` (an ``InputError``) when no face
        is found.
        """
        from rgb2depth.inference.faces import predict_faces

        return predict_faces(self, image, tta=tta)

    def _letterbox(
        self, image: Any
    ) -> tuple[torch.Tensor, tuple[int, int], tuple[int, int, int, int]]:
        """The network's (1, C, H, W) input for ``image``, its full (H, W), and where the
        image lies in the input: (top, left, height, width)."""
        from PIL import Image

        from rgb2depth.data.datasets import rgb_to_tensor
        from rgb2depth.data.io import fit_within

        img, (h, w) = _as_rgb_image(image, self.input_size)
        ih, iw = fit_within((h, w), self.input_size)
        if img.size != (iw, ih):
            img = img.resize((iw, ih), Image.Resampling.BILINEAR)  # antialiased when shrinking
        rgb = np.asarray(img, dtype=np.uint8)
        H, W = self.input_size
        top, left = (H - ih) // 2, (W - iw) // 2
        if (ih, iw) != (H, W):
            pad = ((top, H - ih - top), (left, W - iw - left), (0, 0))
            rgb = np.pad(rgb, pad, mode="reflect")
        x = self._transform({"rgb": rgb_to_tensor(rgb)})["rgb"][None]
        return x, (h, w), (top, left, ih, iw)

    def __repr__(self) -> str:
        h, w = self.input_size
        return (
            f"Predictor({self.source!r}, units={self.units!r}, range={self.depth_range}, "
            f"input={w}x{h}, device={self.device}, backend={self.backend.name})"
        )


class BatchedPredictions:
    """Whole-image predictions for a known list of images, computed ``batch_size`` at
    a time and handed out one by one, in any order (``rgb2depth predict --batch-size``).

    Asking for an image that is not ready predicts it and the ``batch_size - 1``
    images after it in ``images`` (:meth:`Predictor.predict_batch`); an image that
    cannot be read is left out of its batch and its error is raised when it is asked
    for, so the others still get their depth.

    Args:
        predictor: the :class:`Predictor`.
        images: the images (paths, usually), in the order they will be asked for.
        batch_size: images per network call (>= 1).
        tta: as :meth:`Predictor.predict`.
    """

    def __init__(
        self,
        predictor: Predictor,
        images: Sequence[Any],
        *,
        batch_size: int,
        tta: str | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch size must be an integer >= 1, got {batch_size!r}")
        self.predictor, self.images, self.batch_size, self.tta = (
            predictor,
            list(images),
            batch_size,
            tta,
        )
        self._index = {self._key(im): i for i, im in reversed(list(enumerate(self.images)))}
        self._ready: dict[Any, np.ndarray | InputError] = {}

    @staticmethod
    def _key(image: Any) -> Any:
        return str(image) if isinstance(image, (str, Path)) else id(image)

    def get(self, image: Any) -> np.ndarray:
        """The depth of ``image`` (one of ``images``), as :meth:`Predictor.predict` gives it.

        Raises:
            InputError: the image could not be read (its own message).
        """
        key = self._key(image)
        if key not in self._ready:
            start = self._index.get(key)
            batch = [image] if start is None else self.images[start : start + self.batch_size]
            self._predict([im for im in batch if self._key(im) not in self._ready])
        result = self._ready.pop(key)
        if isinstance(result, InputError):
            raise result
        return result

    def _predict(self, batch: list[Any]) -> None:
        if self.tta not in TTA_MODES:
            raise InputError(f"unknown tta {self.tta!r}; use none or flip")
        good, prepared = [], []
        for image in batch:
            try:  # one unreadable image does not sink the batch
                prepared.append(self.predictor._letterbox(image))
                good.append(image)
            except InputError as e:
                self._ready[self._key(image)] = e
        depths = self.predictor._predict_prepared(prepared, self.tta)
        for image, depth in zip(good, depths, strict=True):
            self._ready[self._key(image)] = depth
