"""``rgb2depth verify``: seed 001's face-verification test of generated depth."""

from __future__ import annotations

import argparse

from rgb2depth.cli._options import TTA_CHOICES, bounded

# the same names as rgb2depth.metrics.verification.NORMALIZATIONS and CROPS (kept here so
# that building the parser does not import torch)
NORMALIZATIONS = ("range", "centered")
CROPS = ("auto", "seed", "none")
REGIONS = ("face", "head")
SHOWN = ("accuracy", "ci95", "genuine_accepted", "impostor_rejected", "auc")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="face verification (seed 001): does a model's depth keep identity?",
        description="Train seed 001's Siamese face verifier on a dataset's ground-truth "
        "depth (train split, the step best on fixed val pairs kept), or reuse the one in "
        "--out, then report its accuracy (similarity > 0.5) on fixed test pairs (identities "
        "unseen in training; balanced genuine and impostor pairs) with the ground-truth "
        "depth, a silhouette control, and the depth each --model predicts from the RGB of "
        "the same samples (or each --pred folder holds). Identities are the 'group' of "
        "each sample in <split>/meta.jsonl. The pairs are written to --out as JSON; see "
        "docs/verification.md.",
    )
    p.add_argument("--data", required=True, help="dataset folder with train, val and test")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="M",
        help="a bundled model name or a saved model folder (repeatable)",
    )
    p.add_argument(
        "--pred",
        action="append",
        default=[],
        metavar="PRED_DIR",
        help="a folder of depth files for the test samples, as evaluate --pred (repeatable)",
    )
    p.add_argument(
        "--out",
        metavar="RUN_DIR",
        help="the verifier's run folder: reused if it holds one, else created "
        "(default: runs/verify-<data folder name>)",
    )
    p.add_argument(
        "--steps",
        type=bounded(int, 1, 10**7, expected="an integer"),
        help="training steps (2000; only when training)",
    )
    p.add_argument(
        "--identities",
        type=bounded(int, 2, 4096, expected="an integer"),
        default=16,
        help="identities per training step, two views each; every pair among them is scored (16)",
    )
    p.add_argument(
        "--lr",
        type=bounded(float, 1e-8, 1.0, expected="a number"),
        default=3e-4,
        help="Adam learning rate (3e-4)",
    )
    p.add_argument(
        "--seed",
        type=bounded(int, 0, 2**31 - 1, expected="an integer"),
        default=0,
        help="seed of the pairs and of training (0)",
    )
    p.add_argument(
        "--pairs",
        type=bounded(int, 2, 10**7, expected="an integer"),
        help="pairs per split (default: every genuine pair and as many impostor pairs)",
    )
    p.add_argument(
        "--normalize",
        choices=NORMALIZATIONS,
        help="range: depth_range -> [-1, 1] as every model; centered: each map's median "
        "depth subtracted first (relief, not distance). Default: centered for --region "
        "face, range for head",
    )
    p.add_argument(
        "--crop",
        choices=CROPS,
        help="seed: seed 001's face crop (a box of f * 320 mm / D around the head centre, "
        "D the depth there, resized to 96x96), needs head centres (meta.jsonl) and the "
        "camera; none: the images as framed; auto (default): seed where possible",
    )
    p.add_argument(
        "--region",
        choices=REGIONS,
        help="face (default): only an ellipse in the middle of the crop (120 x 160 mm with "
        "the seed crop), so that the head's outline cannot tell identities apart; head: "
        "the whole crop, as seed 001 (generated depth is read on the ground truth's valid "
        "pixels, so there it shares the ground truth's outline)",
    )
    p.add_argument("--tta", default="none", choices=TTA_CHOICES, help="for --model (none)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto)")
    p.add_argument("--json", metavar="FILE", help="write the result here (RUN_DIR/verify.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rgb2depth.data.io import atomic_path, check_writable_file
    from rgb2depth.metrics.verification import verify

    out = Path(args.out) if args.out else Path("runs") / f"verify-{Path(args.data).resolve().name}"
    json_path = Path(args.json) if args.json else out / "verify.json"
    check_writable_file(json_path, what="--json")  # fail before training, not after
    result = verify(
        args.data,
        out,
        models=args.model,
        preds=args.pred,
        steps=args.steps,
        identities_per_step=args.identities,
        lr=args.lr,
        seed=args.seed,
        normalize=args.normalize,
        crop=args.crop,
        region=args.region,
        n_pairs=args.pairs,
        device=args.device,
        tta=None if args.tta == "none" else args.tta,
        progress=not args.quiet,
    )
    v = result["verifier"]
    tr = v["training"]
    how = "trained" if result["trained"] else "reused"
    print(
        f"verifier {how}: {out} ({tr['steps']} steps, best val accuracy "
        f"{tr['best_val_accuracy']:.4f} at step {tr['best_step']}; input {v['size']}x{v['size']}, "
        f"crop {v['crop']}, region {v['region']}, normalize {v['normalize']}; "
        "identities train/val/test "
        f"{'/'.join(str(v['identities'][s]) for s in ('train', 'val', 'test'))})"
    )
    first = result["rows"][0]
    print(
        f"test pairs: {int(first['n_pairs'])} ({int(first['n_genuine'])} genuine, "
        f"{int(first['n_impostor'])} impostor), same person when similarity > "
        f"{result['threshold']}"
    )
    labels = [
        r["source"] + (f" (given the {r['model_input']})" if "model_input" in r else "")
        for r in result["rows"]
    ]
    width = max(len("source"), *(len(x) for x in labels))
    cols = [max(len(m), 6) + 2 for m in SHOWN]
    print(f"{'source':<{width}}" + "".join(f"{m:>{c}}" for m, c in zip(SHOWN, cols, strict=True)))
    for label, r in zip(labels, result["rows"], strict=True):
        cells = "".join(f"{r[m]:>{c}.4f}" for m, c in zip(SHOWN, cols, strict=True))
        print(f"{label:<{width}}" + cells)
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {json_path}")
    return 0
