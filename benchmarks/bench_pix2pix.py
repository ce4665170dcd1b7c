"""Speed of one pix2pix training step: ours beside the reference implementation's.

    python benchmarks/bench_pix2pix.py [--reference PATH] [--size 256] [--base-width 64]
        [--warmup 2] [--runs 5] [--threads N]

Ours: one step of :class:`rgb2depth.engine.trainer.Trainer` running the ``pix2pix``
method (its discriminator update, then its generator update, on one batch and one
generator pass, as the reference does), batch 1, ``pix2pix_unet`` 3 -> 1 and the 4-channel
``pix2pix_patchgan``, Adam 2e-4 (0.5, 0.999), on the CPU.

The reference (``--reference``: a local checkout of junyanz/pytorch-CycleGAN-and-pix2pix,
BSD licence; nothing of it is part of this project): its ``models/networks.py`` is
loaded from that folder in this process, and the step is what its
``Pix2PixModel.optimize_parameters`` does: ``fake = G(A)``; D update on
``0.5 * (GAN(D(A, fake.detach()), False) + GAN(D(A, B), True))``; D frozen; G update on
``GAN(D(A, fake), True) + 100 * L1(fake, B)``; with ``define_G(.., 'unet_256', 'batch',
dropout)``, ``define_D(.., 'basic')`` and the vanilla GAN loss (``GANLoss('vanilla')``,
BCE on logits; versions that predate ``gan_mode`` take ``GANLoss(use_lsgan=False)``
with a sigmoid discriminator, which the benchmark then uses). Same channels (3 -> 1,
D on 4), same random data, same thread count. If the reference's modules import
torchvision and it is not installed, a stub module stands in for it in this process
only (the networks do not use it).

Both sides: warm-up steps first, then ``--runs`` steps of each, timed in turn (ours,
reference, ours, ...) so that a change in load falls on both alike; the medians are shown.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from rgb2depth.engine.trainer import Trainer
from rgb2depth.methods import MethodContext, build_method
from rgb2depth.models import count_parameters, create_model


class RandomPairs(Dataset):
    """``n`` fixed random (rgb, depth, mask) samples by the data contract, all depth valid."""

    def __init__(self, n: int, size: int, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.rgb = torch.rand(n, 3, size, size, generator=g) * 2 - 1
        self.depth = torch.rand(n, 1, size, size, generator=g) * 2 - 1

    def __len__(self) -> int:
        return len(self.rgb)

    def __getitem__(self, i: int) -> dict[str, Any]:
        depth = self.depth[i]
        return {
            "rgb": self.rgb[i],
            "depth": depth,
            "mask": torch.ones_like(depth, dtype=torch.bool),
        }


def _interleaved_medians(steps: list, warmup: int, runs: int) -> list[float]:
    """Median seconds of each step function, timed in turn (A, B, A, B, ...) so that a
    change in the machine's load falls on all of them alike."""
    for step in steps:
        for _ in range(warmup):
            step()
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(runs):
        for step, t in zip(steps, times, strict=True):
            t0 = time.perf_counter()
            step()
            t.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def make_ours(data: RandomPairs, base_width: int, steps: int, out: Path) -> dict[str, Any]:
    torch.manual_seed(0)
    model = create_model("pix2pix_unet", base_width=base_width)
    method = build_method(
        {"name": "pix2pix", "discriminator_kwargs": {"base_width": base_width}},
        model,
        MethodContext(in_channels=3, depth_units="m", depth_range=(0.0, 1.0)),
    )
    trainer = Trainer(
        method,
        data,
        out,
        steps=steps,
        batch_size=1,
        lr=2e-4,
        betas=(0.5, 0.999),
        grad_clip=0.0,
        device="cpu",
        log_every=0,
        val_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
    )

    def batches():
        while True:
            for i in range(len(data)):
                yield {k: v.unsqueeze(0) for k, v in data[i].items()}

    it = batches()
    return {
        "step": lambda: trainer._train_step(it),
        "params": (count_parameters(method.model), count_parameters(method.discriminator)),
    }


def _load_reference(path: Path) -> types.ModuleType:
    file = path / "models" / "networks.py"
    if not file.is_file():
        raise SystemExit(f"--reference {path}: no models/networks.py there")
    if importlib.util.find_spec("torchvision") is None:  # stub it for this process only
        sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
    spec = importlib.util.spec_from_file_location("pix2pix_reference_networks", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _accepts(fn, name: str) -> bool:
    import inspect

    return name in inspect.signature(fn).parameters


def make_reference(path: Path, data: RandomPairs, base_width: int) -> dict[str, Any]:
    net = _load_reference(path)
    torch.manual_seed(0)
    logits = _accepts(net.GANLoss.__init__, "gan_mode")
    g = net.define_G(
        3, 1, base_width, "unet_256", norm="batch", use_dropout=True, init_type="normal"
    )
    d_kwargs = {} if logits else {"use_sigmoid": True}
    d = net.define_D(4, base_width, "basic", norm="batch", init_type="normal", **d_kwargs)
    gan = net.GANLoss("vanilla") if logits else net.GANLoss(use_lsgan=False)
    l1 = torch.nn.L1Loss()
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g.train()
    d.train()
    state = {"i": 0}

    def step() -> None:  # Pix2PixModel.optimize_parameters, batch 1
        i = state["i"] % len(data)
        state["i"] += 1
        real_a, real_b = data.rgb[i : i + 1], data.depth[i : i + 1]
        fake_b = g(real_a)
        for p in d.parameters():
            p.requires_grad_(True)
        opt_d.zero_grad()
        pred_fake = d(torch.cat((real_a, fake_b), 1).detach())
        pred_real = d(torch.cat((real_a, real_b), 1))
        loss_d = (gan(pred_fake, False) + gan(pred_real, True)) * 0.5
        loss_d.backward()
        opt_d.step()
        for p in d.parameters():
            p.requires_grad_(False)
        opt_g.zero_grad()
        pred_fake = d(torch.cat((real_a, fake_b), 1))
        loss_g = gan(pred_fake, True) + l1(fake_b, real_b) * 100.0
        loss_g.backward()
        opt_g.step()

    return {
        "step": step,
        "params": (count_parameters(g), count_parameters(d)),
        "loss": "BCEWithLogits (gan_mode vanilla)"
        if logits
        else "BCE on sigmoid (use_lsgan=False)",
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", type=Path, help="local checkout of pytorch-CycleGAN-and-pix2pix")
    ap.add_argument("--size", type=int, default=256, help="image side, a multiple of 256")
    ap.add_argument("--base-width", type=int, default=64, help="ngf = ndf (64: the reference)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args(argv)
    if args.size % 256:
        raise SystemExit(f"--size {args.size}: the U-Net 256 takes multiples of 256")
    torch.set_num_threads(args.threads)
    data = RandomPairs(4, args.size)
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        total = args.warmup + args.runs
        rows.append(
            ("rgb2depth pix2pix (Trainer step)", make_ours(data, args.base_width, total, Path(tmp)))
        )
        if args.reference is not None:
            rows.append(
                (
                    "reference optimize_parameters",
                    make_reference(args.reference, data, args.base_width),
                )
            )
        medians = _interleaved_medians([r["step"] for _, r in rows], args.warmup, args.runs)
    for (_, r), s in zip(rows, medians, strict=True):
        r["s"] = s
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {args.threads} thread(s), load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"settings: batch 1, {args.size}x{args.size}, base width {args.base_width}, "
        f"warm-up {args.warmup}, median of {args.runs} steps timed in turn, CPU"
    )
    print(f"{'implementation':36s} {'G params':>12s} {'D params':>10s} {'step (s)':>9s}")
    for name, r in rows:
        print(f"{name:36s} {r['params'][0]:12,d} {r['params'][1]:10,d} {r['s']:9.3f}")
    if len(rows) == 2:
        ratio = rows[0][1]["s"] / rows[1][1]["s"]
        print(f"ours / reference: {ratio:.2f}x the time (reference loss: {rows[1][1]['loss']})")
    else:
        print("reference: not run (give --reference PATH to a local checkout)")


if __name__ == "__main__":
    main()
