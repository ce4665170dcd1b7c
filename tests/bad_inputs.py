"""The catalogue of bad inputs: each a command line a user might type, and what must happen.

Every case runs through the real command line (:func:`rgb2depth.cli.main.main`) in a
working folder prepared by :func:`make_workdir`, and must end with exit status 2, one
line on stderr that starts ``rgb2depth COMMAND: error:`` and contains the case's
fragments, no traceback, and nothing written or changed in the working folder.

``tests/test_bad_inputs.py`` runs them; it also renders ``docs/bad-inputs.md`` from the
messages the commands really print and fails if the file differs, so the table cannot
drift from the code. Regenerate it with ``make docs`` (which sets
``RGB2DEPTH_WRITE_DOCS=1`` for that test).
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        what: what is wrong, in a user's words (the table's first column).
        argv: the command line after ``rgb2depth``, run in the working folder.
        fragments: text the one-line message must contain.
    """

    what: str
    argv: tuple[str, ...]
    fragments: tuple[str, ...]

    @property
    def command(self) -> str:
        return self.argv[0]

    @property
    def id(self) -> str:
        return f"{self.command}: {self.what}"


def case(what: str, line: str, *fragments: str) -> Case:
    return Case(what, tuple(line.split()), fragments)


TRAIN = "train tiny.yaml"
CASES: list[Case] = [
    # ------------------------------------------------------------------ generate
    case("an unknown scene kind", "generate cats --out new", "unknown scene kind 'cats'", "faces"),
    case("zero samples", "generate faces --n 0 --out new", "n must be a positive"),
    case("a negative number of samples", "generate faces --n -5 --out new", "n must be"),
    case("a number that is not one", "generate faces --n three --out new", "invalid int value"),
    case("a size that is not S or WxH", "generate faces --size big --out new", "size must be"),
    case("a size below the minimum", "generate faces --size 8 --out new", "between 16 and 4096"),
    case("a size with a missing side", "generate faces --size 20x --out new", "size must be"),
    case("a misspelt option", "generate faces --nn 3 --out new", "unrecognized arguments: --nn"),
    case("no output folder", "generate faces", "--out"),
    case("zero workers", "generate faces --workers 0 --out new", "workers"),
    case("an unknown framing", "generate faces --framing crop --out new", "invalid choice: 'crop'"),
    case(
        "face framing for a kind without faces",
        "generate rooms --framing face --out new",
        "framing 'face' is for the faces kind only",
    ),
    case(
        "an unknown faces version",
        "generate faces --faces-version 3 --out new",
        "unknown faces version 3; known versions: 1: ",
    ),
    case(
        "a faces version for a kind without faces",
        "generate rooms --faces-version 1 --out new",
        "--faces-version) is for the faces kind only",
    ),
    case(
        "an output folder holding other files",
        "generate faces --n 2 --size 16 --out mine",
        "exists and is not empty",
    ),
    case(
        "--overwrite on a folder rgb2depth did not write",
        "generate faces --n 2 --size 16 --out mine --overwrite",
        "mine",
    ),
    case(
        "--overwrite on a regular file",
        "generate faces --n 2 --size 16 --out notes.txt --overwrite",
        "notes.txt",
    ),
    case(
        "an output folder under a regular file",
        "generate faces --n 2 --size 16 --out notes.txt/data",
        "notes.txt",
    ),
    # ------------------------------------------------------------------ check
    case("a folder that does not exist", "check nowhere", "does not exist"),
    case("a folder without dataset.json", "check mine", "dataset.json not found"),
    case("a dataset.json that is not JSON", "check badjson", "dataset.json"),
    case("a corrupt image in the dataset", "check corrupt", "000", "corrupt or truncated"),
    case("a split the dataset lacks", "check data --split holdout", "holdout"),
    # ------------------------------------------------------------------ train
    case("a config file that does not exist", "train nope.yaml", "config file not found"),
    case("a config that is not YAML", "train broken.yaml", "not valid YAML"),
    case("a config that is a list", "train list.yaml", "expected a mapping"),
    case("a section given twice", "train twice.yaml", "'train' is given twice", "lines 4 and 6"),
    Case(
        "a key given twice in an override",
        ("train", "tiny.yaml", "train={lr: 1.0e-3, lr: 2.0e-3}"),
        ("'lr' is given twice",),
    ),
    case("a misspelt section", f"{TRAIN} trian.lr=1e-3", "'trian'", "did you mean 'train'"),
    case("a misspelt key", f"{TRAIN} train.lrr=1e-3", "'train.lrr'", "did you mean 'lr'"),
    case("an override without =", f"{TRAIN} train.lr", "KEY=VALUE"),
    case("an override that is not YAML", f"{TRAIN} data.size=[32", "not valid YAML"),
    case("a text where a number belongs", f"{TRAIN} train.lr=abc", "train.lr"),
    case("a batch size of 0", f"{TRAIN} train.batch_size=0", "train.batch_size", "0"),
    case("a fractional batch size", f"{TRAIN} train.batch_size=2.5", "train.batch_size"),
    case("a negative learning rate", f"{TRAIN} train.lr=-1", "train.lr", "-1"),
    case("Adam betas outside [0, 1)", f"{TRAIN} train.betas=[2,3]", "train.betas"),
    case("one beta instead of two", f"{TRAIN} train.betas=[0.9]", "train.betas"),
    case("a negative weight decay", f"{TRAIN} train.weight_decay=-0.1", "train.weight_decay"),
    case("a negative gradient clip", f"{TRAIN} train.grad_clip=-1", "train.grad_clip"),
    case("an unknown optimiser", f"{TRAIN} train.optimizer=sgd", "sgd", "adam"),
    case("an unknown mixed precision", f"{TRAIN} train.amp=fp8", "fp8", "bf16"),
    case("fp16 on a CPU", f"{TRAIN} train.amp=fp16 train.device=cpu", "fp16"),
    case("an unknown device", f"{TRAIN} train.device=tpu", "tpu", "cuda"),
    case("a negative seed", f"{TRAIN} train.seed=-1", "train.seed"),
    case("a negative worker count", f"{TRAIN} data.workers=-1", "data.workers"),
    case("a size with one side", f"{TRAIN} data.size=[32]", "data.size"),
    case("a size with a text side", f"{TRAIN} data.size=[32,abc]", "data.size", "abc"),
    case("a size of zero", f"{TRAIN} data.size=[0,32]", "data.size"),
    case("a size the network cannot take", f"{TRAIN} data.size=[30,30]", "data.size 30x30"),
    case("an unknown augmentation preset", f"{TRAIN} data.preset=fancy", "fancy"),
    case("grayscale given as text", f"{TRAIN} data.grayscale=maybe", "data.grayscale"),
    case(
        "input channels that contradict grayscale",
        f"{TRAIN} data.grayscale=true model.kwargs.in_channels=3",
        "in_channels=3 disagrees with data.grayscale=true",
    ),
    case(
        "an unpaired training split", f"{TRAIN} data.root=unpaired", "unpaired", "trains on pairs"
    ),
    case("a dataset folder that does not exist", f"{TRAIN} data.root=nowhere", "nowhere"),
    case("a split the dataset lacks", f"{TRAIN} data.train_split=holdout", "holdout"),
    case("zero training steps", f"{TRAIN} schedule.steps=0", "schedule.steps"),
    case("an unknown scheduler", f"{TRAIN} schedule.scheduler=linear", "linear", "cosine"),
    case("a negative warm-up", f"{TRAIN} schedule.warmup_steps=-3", "schedule.warmup_steps"),
    case("a negative log interval", f"{TRAIN} log.every=-1", "log.every"),
    case("a negative validation interval", f"{TRAIN} log.val_every=-5", "log.val_every"),
    case("a negative checkpoint interval", f"{TRAIN} log.ckpt_every=-5", "log.ckpt_every"),
    case("a run folder under a regular file", f"{TRAIN} log.out=notes.txt/run", "notes.txt"),
    case("an unknown network", f"{TRAIN} model.name=resnet1000", "resnet1000", "light_unet"),
    case("a critic as the depth network", f"{TRAIN} model.name=dcgan_critic", "dcgan_critic"),
    case("a misspelt network setting", f"{TRAIN} model.kwargs.chanels=8", "'chanels'"),
    case(
        "encoder weights for a network without an encoder",
        f"{TRAIN} model.encoder_weights=notes.txt",
        "light_unet has no pretrained encoder",
    ),
    case(
        "fine-tuning from a model that does not exist",
        f"{TRAIN} model.init=no-such-model",
        "model.init: unknown model 'no-such-model'",
        "bundled:",
    ),
    case(
        "fine-tuning from a model of other settings",
        f"{TRAIN} model.name=unet_baseline model.init=faces-light",
        "model.init: faces-light is light_unet",
        "same network",
    ),
    case("an unknown method", f"{TRAIN} method.name=gan", "unknown method 'gan'", "supervised"),
    case(
        "a discriminator built for another size",
        f"{TRAIN} method.name=cgan",
        "network 'discriminator'",
        "96x96",
    ),
    case(
        "an unknown critic",
        f"{TRAIN} data.root=unpaired method.name=unsupervised method.critic=resnet",
        "resnet",
    ),
    case(
        "adapt without its real photos",
        f"{TRAIN} method.name=adapt",
        "method.extra_rgb is required for method adapt",
    ),
    case(
        "adapt's photo folder is a file",
        f"{TRAIN} method.name=adapt method.extra_rgb=notes.txt",
        "method.extra_rgb notes.txt: not a folder",
    ),
    case("a misspelt method option", f"{TRAIN} method.lss=mse", "'method.lss'"),
    case("an unknown loss", f"{TRAIN} method.loss=huber", "huber"),
    case("a misspelt generate setting", f"{TRAIN} data.root=new data.generate.knd=faces", "knd"),
    case("--resume without a checkpoint", f"{TRAIN} log.out=fresh --resume", "no checkpoint"),
    # ------------------------------------------------------------------ evaluate
    case("neither --model nor --pred", "evaluate --data data", "--model"),
    case(
        "a dataset folder that does not exist",
        "evaluate --model faces-light --data nowhere",
        "nowhere",
    ),
    case(
        "an unknown model",
        "evaluate --model faces-heavy --data data",
        "unknown model 'faces-heavy'",
    ),
    case(
        "a model folder without weights",
        "evaluate --model broken-model --data data",
        "model.safetensors",
    ),
    case(
        "a split the dataset lacks",
        "evaluate --model faces-light --data data --split holdout",
        "holdout",
    ),
    case(
        "a model in other units than the data",
        "evaluate --model faces-light --data rooms",
        "predicts mm",
        "m",
    ),
    case(
        "an unknown alignment",
        "evaluate --model faces-light --data data --align mean",
        "invalid choice: 'mean'",
    ),
    case(
        "an unknown test-time augmentation",
        "evaluate --model faces-light --data data --tta spin",
        "invalid choice: 'spin'",
    ),
    case("an unknown device", "evaluate --model faces-light --data data --device tpu", "tpu"),
    case(
        "a --json file that is a folder",
        "evaluate --model faces-light --data data --json mine",
        "it is a folder",
    ),
    case(
        "a --json file under a regular file",
        "evaluate --model faces-light --data data --json notes.txt/m.json",
        "notes.txt",
    ),
    case(
        "a predictions folder that does not exist", "evaluate --pred nowhere --data data", "nowhere"
    ),
    case(
        "predictions missing for some images",
        "evaluate --pred preds-missing --data data",
        "missing",
    ),
    case("a prediction of the wrong size", "evaluate --pred preds-size --data data", "size"),
    case("a prediction with NaN", "evaluate --pred preds-nan --data data", "NaN"),
    case(
        "predict's 16-bit PNG without its .json",
        "evaluate --pred preds-nosidecar --data data",
        "_depth.json",
    ),
    # ------------------------------------------------------------------ predict
    case("an input that does not exist", "predict nowhere.png --out new", "input not found"),
    case("a file that is not an image", "predict notimage.png --out new", "not an image"),
    case("an empty file", "predict empty.png --out new", "empty file"),
    case("a truncated PNG", "predict truncated.png --out new", "corrupt or truncated"),
    case("a truncated JPEG", "predict truncated.jpg --out new", "truncated.jpg"),
    case("a 16-bit depth map given as a photo", "predict depth16.png --out new", "16-bit"),
    case("a folder without images", "predict mine --out new", "no images"),
    case("an output folder that is a file", "predict photo.png --out notes.txt", "it is a file"),
    case("an unknown model", "predict photo.png --model faces-heavy --out new", "unknown model"),
    case(
        "a model folder without weights",
        "predict photo.png --model broken-model --out new",
        "model.safetensors",
    ),
    case(
        "a model whose config.json has its depth range reversed",
        "predict photo.png --model reversed-range-model --out new",
        "reversed-range-model: config.json",
        "lo <= hi",
    ),
    case(
        "an unknown test-time augmentation",
        "predict photo.png --tta spin --out new",
        "invalid choice: 'spin'",
    ),
    case("an unknown device", "predict photo.png --device tpu --out new", "tpu"),
    case("no --out", "predict photo.png", "--out"),
    case(
        "an image without a face, in face mode",
        "predict photo.png --face --out new",
        "photo.png: no face found",
    ),
    case(
        "an image without a face, with the default model (face mode by default)",
        "predict photo.png --out new",
        "photo.png: no face found",
    ),
    case(
        "two inputs that would write the same files",
        "predict photo.png photos --out new",
        "same outputs",
    ),
    case(
        "a mesh format without --mesh",
        "predict photo.png --format ply --out new",
        "--format shape the mesh: add --mesh grid or poisson",
    ),
    case(
        "an unknown mesh format",
        "predict photo.png --mesh grid --format stl --out new",
        "invalid choice: 'stl'",
    ),
    # ------------------------------------------------------------------ reconstruct
    case("an input that does not exist", "reconstruct nowhere.png --out new", "input not found"),
    case(
        "an unknown model",
        "reconstruct photo.png --model faces-heavy --out new",
        "unknown model",
    ),
    case(
        "intrinsics that are not four numbers",
        "reconstruct photo.png --intrinsics 500,500,20 --out new",
        "four numbers fx,fy,cx,cy",
    ),
    case(
        "intrinsics that are not numbers",
        "reconstruct photo.png --intrinsics fx,fy,cx,cy --out new",
        "four numbers fx,fy,cx,cy",
    ),
    case(
        "a focal length of zero",
        "reconstruct photo.png --intrinsics 0,500,20,15 --out new",
        "focal lengths must be > 0",
    ),
    case(
        "a field of view of 180 degrees",
        "reconstruct photo.png --fov 180 --out new",
        "field of view must be in (0, 180)",
    ),
    case(
        "both a field of view and intrinsics",
        "reconstruct photo.png --fov 60 --intrinsics 500,500,20,15 --out new",
        "not allowed with argument",
    ),
    case(
        "an unknown mesh format",
        "reconstruct photo.png --format stl --out new",
        "invalid choice: 'stl'",
    ),
    case(
        "an unknown mesh kind",
        "reconstruct photo.png --mesh marching --out new",
        "invalid choice: 'marching'",
    ),
    case(
        "a depth-jump threshold of zero",
        "reconstruct photo.png --max-jump 0 --out new",
        "--max-jump: must be a finite number > 0",
    ),
    case("a negative number of views", "reconstruct photo.png --views -1 --out new", "views"),
    case(
        "a GIF without views",
        "reconstruct photo.png --gif --out new",
        "--gif needs --views",
    ),
    case(
        "an image without a face, in face mode",
        "reconstruct photo.png --model faces-light --face --out new",
        "photo.png: no face found",
    ),
    case(
        "an output folder that is a file",
        "reconstruct photo.png --model faces-light --out notes.txt",
        "it is a file",
    ),
    # ------------------------------------------------------------------ models
    case("a size that is not S or WxH", "models --size big", "size must be"),
    case("a size of zero", "models --size 0", "size"),
    case("an unknown option", "models --all", "unrecognized arguments: --all"),
    # ------------------------------------------------------------------ demo
    case("an unknown model", "demo --model faces-heavy --out new", "unknown model"),
    case("an output folder that is a file", "demo --out notes.txt", "notes.txt"),
    case("an unknown device", "demo --device tpu --out new", "tpu"),
    case(
        "an unknown test-time augmentation", "demo --tta spin --out new", "invalid choice: 'spin'"
    ),
    # ------------------------------------------------------------------ serve
    # (each refused before a server starts; a taken port: tests/test_web.py)
    case("an unknown model", "serve --model faces-heavy", "unknown model 'faces-heavy'"),
    case("a port that is not one", "serve --port 70000", "expected a port number"),
    case("an upload limit of zero", "serve --max-upload-mb 0", "expected a size in MB"),
    case("an unknown device", "serve --model faces-light --device tpu", "tpu"),
    # ------------------------------------------------------------------ convert
    case("an unknown dataset", "convert nyuv2 mine --out new", "unknown dataset 'nyuv2'", "texas"),
    case("a source that does not exist", "convert nyu nowhere.mat --out new", "does not exist"),
    case("NYU: a file that is not HDF5", "convert nyu notes.txt --out new", "not an HDF5 file"),
    case("Pandora: a file, not its folder", "convert pandora notes.txt --out new", "not a folder"),
    case("Biwi: a folder without sequences", "convert biwi mine --out new", "no sequence folder"),
    case("SURREAL: no split folder", "convert surreal mine --out new", "no train, val or test"),
    case(
        "Texas-3DFRD: no image pairs", "convert texas data --out new", "no Texas-3DFRD image pair"
    ),
    case("Bosphorus: no subject folders", "convert bosphorus mine --out new", "no subject folder"),
    case("CelebAMask-HQ: no image folder", "convert celebamask mine --out new", "CelebA-HQ-img/"),
    # ------------------------------------------------------------------ report
    case("a folder that is not a training run", "report data --out rep", "not a training run"),
    case("a run folder that does not exist", "report nowhere --out rep", "no such folder"),
    # ------------------------------------------------------------------ evaluate --protocol
    case(
        "an unknown protocol",
        "evaluate --model faces-light --data data --protocol nyu",
        "invalid choice: 'nyu'",
    ),
    case(
        "a protocol for other units",
        "evaluate --model faces-light --data data --protocol nyu-eigen",
        "scores depth in m but the dataset's depth is in mm",
    ),
    case(
        "an alignment contradicting the protocol",
        "evaluate --model faces-light --data data --protocol faces-relative --align median",
        "contradicts protocol 'faces-relative'",
    ),
    # ------------------------------------------------------------------ any
    case("an unknown command", "frobnicate", "invalid choice: 'frobnicate'"),
]


def make_workdir(root: Path) -> None:
    """Write every file the cases refer to into ``root`` (the cases run with it as cwd)."""
    from rgb2depth.data.synthetic import generate

    generate("faces", root / "data", n=12, size=32, seed=0, progress=False)
    generate("rooms", root / "rooms", n=3, size=16, seed=0, progress=False)
    generate("faces", root / "unpaired", n=8, size=32, seed=0, unpaired=True, progress=False)
    (root / "notes.txt").write_text("a user's notes\n", encoding="utf-8")
    mine = root / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("a user's unrelated file\n", encoding="utf-8")

    bad = root / "badjson"
    bad.mkdir()
    (bad / "dataset.json").write_text("{not json", encoding="utf-8")
    shutil.copytree(root / "data", root / "corrupt")
    victim = sorted((root / "corrupt" / "test" / "rgb").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:40])

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(photo).save(root / "photo.png")
    (root / "photos").mkdir()
    Image.fromarray(photo).save(root / "photos" / "photo.jpg")
    (root / "notimage.png").write_text("hello\n", encoding="utf-8")
    (root / "empty.png").write_bytes(b"")
    png = (root / "photo.png").read_bytes()
    (root / "truncated.png").write_bytes(png[: len(png) // 2])
    jpg = (root / "photos" / "photo.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(jpg[: len(jpg) // 2])
    Image.fromarray(np.full((30, 40), 1000, np.uint16)).save(root / "depth16.png")

    from rgb2depth.inference.predictor import bundled_model_dir

    broken = root / "broken-model"
    shutil.copytree(bundled_model_dir("faces-light"), broken)
    (broken / "model.safetensors").unlink()
    reversed_range = root / "reversed-range-model"
    shutil.copytree(bundled_model_dir("faces-light"), reversed_range)
    config = json.loads((reversed_range / "config.json").read_text(encoding="utf-8"))
    config["depth"]["range"] = config["depth"]["range"][::-1]
    (reversed_range / "config.json").write_text(json.dumps(config), encoding="utf-8")

    config = {
        "data": {"root": "data", "size": [32, 32]},
        "model": {"name": "light_unet"},
        "train": {"batch_size": 2, "device": "cpu"},
        "schedule": {"steps": 1},
        "log": {"out": "runs/tiny", "val_every": 0, "progress": False},
    }
    (root / "tiny.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "broken.yaml").write_text("data: [root\n", encoding="utf-8")
    (root / "list.yaml").write_text("- data\n- model\n", encoding="utf-8")
    twice = "data: {root: data, size: [32, 32]}\nmodel: {name: light_unet}\n"
    twice += "log: {out: runs/twice}\ntrain: {lr: 1.0e-3}\n"
    twice += "schedule: {steps: 1}\ntrain: {batch_size: 2}\n"
    (root / "twice.yaml").write_text(twice, encoding="utf-8")

    _prediction_folders(root)


def _prediction_folders(root: Path) -> None:
    """Folders of predictions for the test split, each wrong in one way."""
    from rgb2depth.data.format import read_info

    info = read_info(root / "data")
    names = sorted(p.stem for p in (root / "data" / "test" / "depth").iterdir())
    lo, hi = info.depth_range
    good = np.full((32, 32), (lo + hi) / 2, np.float32)
    for folder, what in (
        ("preds-missing", "missing"),
        ("preds-size", "size"),
        ("preds-nan", "nan"),
        ("preds-nosidecar", "sidecar"),
    ):
        out = root / folder
        out.mkdir()
        for i, name in enumerate(names):
            if what == "missing" and i == 0:
                continue
            if what == "sidecar":
                counts = np.full((32, 32), 1000, np.uint16)
                Image.fromarray(counts).save(out / f"{name}_depth.png")
                continue
            depth = good.copy()
            if what == "size" and i == 0:
                depth = np.full((16, 16), (lo + hi) / 2, np.float32)
            if what == "nan" and i == 0:
                depth[0, 0] = np.nan
            np.save(out / f"{name}.npy", depth)


def render_markdown(results: dict[str, tuple[int, str]]) -> str:
    """``docs/bad-inputs.md`` from ``{case id: (exit status, stderr line)}``."""
    lines = [
        "# Bad input: what each command says",
        "",
        "Every command refuses bad input the same way: **one line on stderr** that says what",
        "was wrong and what is accepted, **exit status 2**, no traceback, and nothing written",
        "or changed (outputs go to a temporary name and are renamed into place only once",
        "complete). This table is produced by the tests themselves (`tests/test_bad_inputs.py`",
        "runs each line below through the real command line in a folder of prepared files and",
        "fails if this page differs from what the commands print), so it cannot drift from",
        "the code. `make docs` rewrites it.",
        "",
        "Exit statuses: 0 done; 2 bad input the user can fix (argument, config, file, name,",
        "an output location that cannot be written); 1 a failure while working that is not",
        "the input's fault (disk full, training diverged); 130 interrupted.",
        "",
        f"{len(results)} cases. The working folder holds `data/` (synthetic faces), `rooms/`",
        "(synthetic rooms, depth in m), `tiny.yaml` (a 1-step training config on `data/`),",
        "`unpaired/` (faces whose train split is unpaired), `notes.txt` and `mine/` (a user's",
        "own files), and the broken files the cases name.",
    ]
    by_command: dict[str, list[Case]] = {}
    for c in CASES:
        by_command.setdefault(c.command, []).append(c)
    for command, cases in by_command.items():
        title = command if command != "frobnicate" else "any command"
        lines += [
            "",
            f"## {title}",
            "",
            "| input | command line | exit | message |",
            "|---|---|---|---|",
        ]
        for c in cases:
            code, message = results[c.id]
            cells = [c.what, f"`rgb2depth {shlex.join(c.argv)}`", str(code), f"`{message}`"]
            lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"
