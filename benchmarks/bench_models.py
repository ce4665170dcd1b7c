"""Speed of the registered networks: inference latency and training throughput.

    python benchmarks/bench_models.py [--models light_unet unet_baseline] [--size 256]
        [--train-size 64] [--batch 8] [--device auto]

Seed 004's table 2 reports 28.11 ms (light U-Net) and 163.45 ms (U-Net baseline) per
image on a Titan Pascal; this prints the same measurement on this machine (warm-up
runs first, then the mean of timed runs, batch 1, no autograd), plus training
images/s for one optimisation step of seed 004's loss at a small size (raised to the
smallest size a network accepts, e.g. 256 for pix2pix's U-Net; the table says which).
Only image-to-depth networks (one input, a full-size map out) can be timed this way.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from rgb2depth.engine.trainer import resolve_device
from rgb2depth.losses import LightUNetLoss
from rgb2depth.models import (
    count_parameters,
    create_model,
    get_entry,
    gflops,
    image_to_depth_probe,
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def latency_ms(model, size: int, device: torch.device, warmup: int, runs: int) -> float:
    x = torch.rand(1, model.in_channels, size, size, device=device) * 2 - 1
    model.eval()
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(runs):
            model(x)
        _sync(device)
    return (time.perf_counter() - t0) / runs * 1000


def train_images_per_s(model, size: int, batch: int, device: torch.device, steps: int) -> float:
    crit = LightUNetLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    rgb = torch.rand(batch, model.in_channels, size, size, device=device) * 2 - 1
    depth = torch.rand(batch, 1, size, size, device=device) * 2 - 1
    mask = torch.ones_like(depth, dtype=torch.bool)
    model.train()
    for i in range(steps + 2):
        if i == 2:
            _sync(device)
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss, _ = crit(model(rgb), depth, rgb=rgb[:, :3], mask=mask)
        loss.backward()
        opt.step()
    _sync(device)
    return steps * batch / (time.perf_counter() - t0)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["light_unet", "unet_baseline"])
    ap.add_argument("--size", type=int, default=256, help="inference size (256)")
    ap.add_argument("--train-size", type=int, default=64, help="training size (64)")
    ap.add_argument("--batch", type=int, default=8, help="training batch (8)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    print(
        f"machine: {platform.machine()} {name}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), device {device}"
    )
    print(
        f"inference: batch 1 at {args.size}x{args.size}, mean of {args.runs} runs after 3 "
        f"warm-up; training: batch {args.batch} at {args.train_size}x{args.train_size}, "
        "Adam, seed 004's loss"
    )
    header = f"{'network':<20}{'params':>12}{'GFLOPs':>9}{'ms/img':>9}{'FPS':>8}"
    print(f"{header}{'train img/s':>13}{'at':>6}")
    for m in args.models:
        entry = get_entry(m)
        if image_to_depth_probe(m) is None:
            raise SystemExit(f"{m} is not an image-to-depth network; it cannot be timed here")
        model = create_model(m).to(device)
        step = entry.stride
        train_size = max(entry.smallest_size(), -(-args.train_size // step) * step)
        g = gflops(model, args.size, args.size, model.in_channels)
        ms = latency_ms(model, args.size, device, 3, args.runs)
        ips = train_images_per_s(model, train_size, args.batch, device, steps=5)
        print(
            f"{m:<20}{count_parameters(model):>12,}{g:>9.2f}{ms:>9.1f}{1000 / ms:>8.1f}"
            f"{ips:>13.1f}{train_size:>6}"
        )


if __name__ == "__main__":
    main()
