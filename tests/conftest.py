"""Shared fixtures: a tiny procedural scene kind and dataset folders made from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rgb2depth.data.synthetic.base import RenderedSample, SceneKind, View


class Planes(SceneKind):
    """A tilted plane in front of the camera with a hole: fast and exact, for tests."""

    name = "planes"
    description = "test kind: a tilted plane with an invalid hole"
    units = "m"
    depth_range = (0.5, 10.0)
    png_scale = 0.001
    png_offset = 0.0
    views_per_group = 2

    def intrinsics(self, height: int, width: int) -> dict[str, float]:
        return {"fx": float(width), "fy": float(width), "cx": width / 2, "cy": height / 2}

    def sample_group(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"base": float(rng.uniform(1.0, 5.0)), "tilt": float(rng.uniform(-0.5, 0.5))}

    def render(
        self,
        group: dict[str, Any],
        rng: np.random.Generator,
        height: int,
        width: int,
        view: View = "paired",
    ) -> RenderedSample:
        _, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        depth = group["base"] + group["tilt"] * xx / width + 0.1 * rng.random()
        depth = depth.astype(np.float32)
        depth[: height // 4, : width // 4] = 0.0
        gray = np.clip(255 * (depth / 6.0), 0, 255).astype(np.uint8)
        rgb = np.stack([gray, 255 - gray, np.full_like(gray, 128)], axis=-1)
        return RenderedSample(rgb=rgb, depth=depth, meta={"view": view})


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a busy machine threads make them crawl."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def planes() -> Planes:
    return Planes()


@pytest.fixture
def planes_dataset(tmp_path: Path, planes: Planes) -> Path:
    """A paired dataset folder of 20 planes at 24x32 (H x W)."""
    from rgb2depth.data.synthetic.generate import generate

    out = tmp_path / "planes"
    generate(planes, out, n=20, size="32x24", seed=1, progress=False)
    return out


def tolerance_for(device: str | torch.device) -> dict[str, float]:
    """``assert_allclose`` tolerances for a result computed on ``device`` against the CPU.

    Exact on the CPU (the same kernels give the same bits); on CUDA, other kernels
    (convolution algorithms, fused interpolation) differ in the last float32 bits,
    e.g. 2.4e-4 mm on depths of 500..1800 mm on an H200: 1e-5 relative.
    """
    from rgb2depth.engine.trainer import resolve_device

    dev = resolve_device(device) if str(device) == "auto" else torch.device(device)
    if dev.type == "cpu":
        return {"rtol": 0.0, "atol": 0.0}
    return {"rtol": 1e-5, "atol": 1e-6}


@pytest.fixture
def device_tolerance():
    """:func:`tolerance_for` as a fixture: ``np.testing.assert_allclose(a, b, **f(device))``."""
    return tolerance_for


@pytest.fixture(scope="session")
def tiny_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 synthetic faces at 32x32 (8 train, 4 val, 4 test), shared and read-only."""
    from rgb2depth.data.synthetic import generate

    root = tmp_path_factory.mktemp("tiny-faces") / "faces"
    generate("faces", root, n=16, size=32, seed=0, progress=False)
    return root
