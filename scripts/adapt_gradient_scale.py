"""How large the adversarial term's gradient is against the supervised loss's (method adapt).

    python scripts/adapt_gradient_scale.py [--data outputs/data/faces-crops-128]
        [--photos outputs/photos/congress-train-128] [--model faces] [--steps 50,150]

Loads the model (bundled name or folder), builds method ``adapt`` around it with the
supervised options of ``configs/faces.yaml``, then trains the critic alone (Adam 1e-4,
betas (0, 0.9), batch 8) and, before it and after each of ``--steps`` critic updates,
prints the mean over 3 batches of the gradient norm on the model's parameters of the
supervised loss and of the adversarial term, and their ratio. docs/adapt.md chooses
``lambda_adv`` from these figures (the adversarial gradient is multiplied by it).
"""

from __future__ import annotations

import argparse

import torch

from rgb2depth.data.transforms import build_transforms
from rgb2depth.engine.data import infinite_loader
from rgb2depth.inference.predictor import find_model_folder
from rgb2depth.methods import MethodContext, build_method
from rgb2depth.models import load_model_folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="outputs/data/faces-crops-128")
    ap.add_argument("--photos", default="outputs/photos/congress-train-128")
    ap.add_argument("--model", default="faces")
    ap.add_argument("--steps", default="50,150", help="critic updates to report after")
    a = ap.parse_args()
    report_at = sorted(int(s) for s in a.steps.split(","))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net, _ = load_model_folder(find_model_folder(a.model))
    depth_range = (500.0, 1800.0)
    ctx = MethodContext(in_channels=3, depth_units="mm", depth_range=depth_range)
    options = {
        "name": "adapt",
        "extra_rgb": a.photos,
        "loss": "light_unet",
        "weights": {"alpha": 2.0, "beta": 1.0, "gamma": 5.0},
        "align": "median",
        "anchor_weight": 0.1,
    }
    m = build_method(options, net, ctx)
    tf = build_transforms("faces", size=[128, 128], depth_range=depth_range)
    it = infinite_loader(m.train_data(a.data, "train", tf), batch_size=8, seed=1)
    m.train()
    opt = torch.optim.Adam(m.critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
    params = [p for p in m.model.parameters() if p.requires_grad]

    def gnorm(loss: torch.Tensor) -> float:
        g = torch.autograd.grad(loss, params, allow_unused=True)
        return float(torch.sqrt(sum((x.float() ** 2).sum() for x in g if x is not None)))

    def measure(tag: str) -> None:
        sup_g, adv_g = [], []
        for _ in range(3):
            b = next(it)
            sup, _ = super(type(m), m).loss("model", b)
            sup_g.append(gnorm(sup))
            adv_g.append(gnorm(m.adversarial_term(b["photo"])))
        s, d = sum(sup_g) / 3, sum(adv_g) / 3
        print(f"| {tag} | {s:.3g} | {d:.3g} | {d / s:.3g} |", flush=True)

    print("| critic | supervised | adversarial | ratio |\n|---|---:|---:|---:|")
    measure("untrained")
    for k in range(1, report_at[-1] + 1):
        loss, _ = m.critic_loss(next(it))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if k in report_at:
            measure(f"{k} updates")


if __name__ == "__main__":
    main()
