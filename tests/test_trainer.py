"""The training engine: steps, exact resuming, checkpoints, logs, devices and methods.

Runs are tiny (32x32 faces, a light U-Net with channels 4-8-8-8-8, batch 4, 2-4
steps), so each test takes well under a second on a CPU.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from rgb2depth.config import SCHEMA, load_config
from rgb2depth.engine import Trainer, resolve_amp, resolve_device
from rgb2depth.engine.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from rgb2depth.engine.run import train
from rgb2depth.errors import InputError

SMALL_UNET = "model.kwargs.channels=[4,8,8,8,8]"


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 synthetic faces at 32x32 (8 train, 4 val, 4 test); read-only for the tests."""
    from rgb2depth.data.synthetic import generate

    root = tmp_path_factory.mktemp("data") / "faces"
    generate("faces", root, n=16, size=32, seed=0, progress=False)
    return root


def make_config(data: Path, out: Path, *overrides: str) -> dict[str, Any]:
    return load_config(
        None,
        [
            f"data.root={data}",
            f"log.out={out}",
            "data.size=[32,32]",
            "data.preset=light_unet",  # flip + rotation: exercises the augmentation RNG
            "train.batch_size=4",
            "train.lr=1e-3",
            "train.device=cpu",
            "schedule.steps=2",
            "log.every=1",
            "log.val_every=0",
            "log.ckpt_every=0",
            "log.images=1",
            "log.progress=false",
            *overrides,
        ],
    )


def small_trainer(faces: Path, run_dir: Path, **kwargs: Any) -> Trainer:
    from rgb2depth.data import PairedDepthDataset
    from rgb2depth.data.format import read_info
    from rgb2depth.data.transforms import build_transforms
    from rgb2depth.methods import MethodContext, build_method
    from rgb2depth.models import create_model

    info = read_info(faces)
    torch.manual_seed(0)
    model = create_model("light_unet", channels=[4, 8, 8, 8, 8])
    context = MethodContext(3, info.depth_units, tuple(info.depth_range))
    method = build_method({"name": "supervised"}, model, context)
    transform = build_transforms(
        "light_unet", size=(32, 32), depth_range=info.depth_range, grayscale=False
    )
    ds = PairedDepthDataset(faces, "train", transform=transform)
    settings = {
        "steps": 2,
        "batch_size": 4,
        "lr": 1e-3,
        "device": "cpu",
        "progress": False,
        "tensorboard": False,
        **kwargs,
    }
    return Trainer(method, ds, run_dir, **settings)


def assert_same_tensors(a: Any, b: Any, where: str = "") -> None:
    """Recursively: equal structure, bitwise-equal tensors, equal plain values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for k in a:
            assert_same_tensors(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def read_log(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "log.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- (a) steps change weights


def test_two_steps_change_the_weights(faces: Path, tmp_path: Path) -> None:
    trainer = small_trainer(faces, tmp_path / "run")
    before = {k: v.clone() for k, v in trainer.method.state_dict().items()}
    params = {n for n, _ in trainer.method.named_parameters()}
    assert trainer.fit() == {}  # no evaluator: no metrics
    after = trainer.method.state_dict()
    assert set(before) == set(after)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    # every parameter moved (Adam moves each by about lr), and the BatchNorm statistics
    assert params <= changed
    assert any(k.endswith("running_mean") for k in changed)
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    assert trainer.step == 2 and trainer.batches == 2
    # the last step is always checkpointed
    assert latest_checkpoint(tmp_path / "run").name == "step_00000002"


# ---------------------------------------------------------------- (b) exact resume


def test_resume_is_bitwise_identical(faces: Path, tmp_path: Path) -> None:
    common = (
        "log.ckpt_every=2",
        "log.val_every=2",
        "log.keep_checkpoints=10",
        # a warm-up spanning the interruption: the scheduler state must be restored too
        "schedule.scheduler=constant",
        "schedule.warmup_steps=3",
        SMALL_UNET,
    )
    a, b = tmp_path / "a", tmp_path / "b"
    result_a = train(make_config(faces, a, "schedule.steps=4", *common), progress=False)
    assert result_a["steps"] == 4
    train(make_config(faces, b, "schedule.steps=2", *common), progress=False)
    assert latest_checkpoint(b).name == "step_00000002"
    result_b = train(make_config(faces, b, "schedule.steps=4", *common), resume=True)
    assert result_b["steps"] == 4

    wa, wb = (
        load_file(a / "model" / "model.safetensors"),
        load_file(b / "model" / "model.safetensors"),
    )
    assert_same_tensors(wa, wb, "model")
    ckpt_a, state_a = load_checkpoint(a / "checkpoints" / "step_00000004")
    ckpt_b, state_b = load_checkpoint(b / "checkpoints" / "step_00000004")
    assert_same_tensors(ckpt_a, ckpt_b, "checkpoint weights")
    assert state_a["step"] == state_b["step"] == 4
    assert state_a["batches"] == state_b["batches"] == 4
    assert_same_tensors(state_a["optimizers"], state_b["optimizers"], "optimizers")
    assert_same_tensors(state_a["schedulers"], state_b["schedulers"], "schedulers")
    assert torch.equal(state_a["rng"]["torch"], state_b["rng"]["torch"])
    assert result_a["metrics"] == result_b["metrics"]

    # the log of the resumed run holds each step once, with the same losses
    def losses(run: Path) -> list[tuple[str, str, str]]:
        return [
            (r["step"], r["phase"], r["value"])
            for r in read_log(run)
            if r["name"] in ("loss", "lr", "rmse")
        ]

    assert losses(a) == losses(b)
    assert [r["step"] for r in read_log(b) if r["name"] == "loss"] == ["1", "2", "3", "4"]


def test_resume_continues_from_the_checkpoint_not_from_scratch(
    faces: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control for the test above: there, a resume that ignored the checkpoint and trained
    all 4 steps afresh would give the same bits. Here the resumed run must (1) train only the
    2 remaining steps, from step 2; (2) differ from 2 steps from scratch, so the 2 steps
    before the interruption count; (3) depend on what the checkpoint holds."""
    common = (SMALL_UNET, "log.ckpt_every=2", "log.keep_checkpoints=10")
    full, resumed, tampered, fresh = (
        tmp_path / n for n in ("full", "resumed", "tampered", "fresh")
    )
    train(make_config(faces, full, "schedule.steps=4", *common), progress=False)
    train(make_config(faces, resumed, "schedule.steps=2", *common), progress=False)
    shutil.copytree(resumed, tampered)
    ckpt = latest_checkpoint(tampered) / "weights.safetensors"
    assert ckpt.parent.name == "step_00000002"
    nudged = {
        k: v + 0.01 if v.is_floating_point() and k.endswith("weight") else v
        for k, v in load_file(ckpt).items()
    }
    save_file(nudged, str(ckpt))

    started_at: list[int] = []
    original = Trainer._train_step

    def counting(self: Trainer, data: Any) -> dict[str, float]:
        started_at.append(self.step)
        return original(self, data)

    monkeypatch.setattr(Trainer, "_train_step", counting)
    train(make_config(faces, resumed, "schedule.steps=4", *common), resume=True)
    assert started_at == [2, 3]  # two steps, not four from step 0
    started_at.clear()
    train(make_config(faces, tampered, "schedule.steps=4", *common), resume=True)
    assert started_at == [2, 3]
    monkeypatch.undo()
    train(make_config(faces, fresh, "schedule.steps=2", *common), progress=False)

    def weights(run: Path) -> dict[str, torch.Tensor]:
        return load_file(run / "model" / "model.safetensors")

    def differ(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
        return any(not torch.equal(a[k], b[k]) for k in a)

    assert_same_tensors(weights(full), weights(resumed), "model")
    assert differ(weights(resumed), weights(fresh))
    assert differ(weights(resumed), weights(tampered))  # continued from what it loaded


# ---------------------------------------------------------------- (c) checkpoint folders


def test_checkpoint_contents_and_pruning(faces: Path, tmp_path: Path) -> None:
    trainer = small_trainer(faces, tmp_path / "run", steps=4, ckpt_every=1, keep_checkpoints=2)
    trainer.fit()
    root = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["step_00000003", "step_00000004"]
    for folder in root.iterdir():
        assert sorted(p.name for p in folder.iterdir()) == ["state.pt", "weights.safetensors"]
    weights, state = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert set(weights) == set(trainer.method.state_dict())
    assert state["step"] == 4 and state["batches"] == 4
    assert {"optimizers", "schedulers", "scalers", "rng", "metrics"} <= set(state)


def test_checkpoint_save_keeps_newest_and_writes_atomically(tmp_path: Path) -> None:
    w = {"x": torch.arange(3.0)}
    for step in (5, 10, 15):
        save_checkpoint(tmp_path, step, w, {"step": step}, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step_00000010", "step_00000015"]  # no temporary folders either
    # saving the same step again replaces it
    save_checkpoint(tmp_path, 15, {"x": torch.ones(3)}, {"step": 15}, keep=2)
    weights, _ = load_checkpoint(tmp_path / "checkpoints" / "step_00000015")
    assert torch.equal(weights["x"], torch.ones(3))
    assert latest_checkpoint(tmp_path / "nothing") is None


# ---------------------------------------------------------------- (d) resume errors


def test_resume_without_checkpoint(faces: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--resume: no checkpoint"):
        train(make_config(faces, tmp_path / "run", SMALL_UNET), resume=True, progress=False)
    trainer = small_trainer(faces, tmp_path / "other")
    with pytest.raises(InputError, match=r"no checkpoint"):
        trainer.fit(resume=True)


def test_new_run_into_existing_run_refused(faces: Path, tmp_path: Path) -> None:
    config = make_config(faces, tmp_path / "run", SMALL_UNET)
    train(config, progress=False)
    before = (tmp_path / "run" / "model" / "model.safetensors").read_bytes()
    with pytest.raises(InputError, match=r"already holds a run.*--resume"):
        train(config, progress=False)
    assert (tmp_path / "run" / "model" / "model.safetensors").read_bytes() == before


def test_resume_with_another_architecture_refused(faces: Path, tmp_path: Path) -> None:
    train(make_config(faces, tmp_path / "run", SMALL_UNET), progress=False)
    other = make_config(faces, tmp_path / "run", "model.kwargs.channels=[4,8,8,8,16]")
    # (refused by the config check; tests/test_resume_settings.py reaches the checkpoint's)
    with pytest.raises(InputError, match=r"config.yaml: model.kwargs.channels \[4, 8, 8, 8, 8\]"):
        train(other, resume=True, progress=False)
    other = make_config(
        faces, tmp_path / "run", "model.name=unet_baseline", "model.kwargs={base_width: 4}"
    )
    with pytest.raises(InputError, match=r"model.name 'light_unet' -> 'unet_baseline'"):
        train(other, resume=True, progress=False)


# ---------------------------------------------------------------- (e) corrupt checkpoints


class _NotATensor:
    pass


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return save_checkpoint(tmp_path, 1, {"x": torch.zeros(2)}, {"step": 1}, keep=0)


@pytest.mark.parametrize("name", ["state.pt", "weights.safetensors"])
@pytest.mark.parametrize(
    "content", [b"", b"garbage" * 40, np.arange(256, dtype=np.uint8).tobytes()]
)
def test_corrupt_checkpoint_file(checkpoint: Path, name: str, content: bytes) -> None:
    (checkpoint / name).write_bytes(content)
    with pytest.raises(InputError, match=rf"{name}.*corrupt"):
        load_checkpoint(checkpoint)


def test_truncated_checkpoint_files(checkpoint: Path) -> None:
    for name in ("state.pt", "weights.safetensors"):
        data = (checkpoint / name).read_bytes()
        (checkpoint / name).write_bytes(data[: len(data) // 2])
        with pytest.raises(InputError, match=r"corrupt"):
            load_checkpoint(checkpoint)
        (checkpoint / name).write_bytes(data)
    load_checkpoint(checkpoint)  # restored: loads again


def test_checkpoint_never_unpickles_objects(checkpoint: Path) -> None:
    torch.save({"step": 1, "payload": _NotATensor()}, checkpoint / "state.pt")
    with pytest.raises(InputError, match=r"state.pt is corrupt or not a checkpoint"):
        load_checkpoint(checkpoint)


def test_checkpoint_incomplete_or_foreign(checkpoint: Path, tmp_path: Path) -> None:
    torch.save({"no_step": 1}, checkpoint / "state.pt")
    with pytest.raises(InputError, match=r"no step"):
        load_checkpoint(checkpoint)
    (checkpoint / "state.pt").unlink()
    with pytest.raises(InputError, match=r"state.pt is missing"):
        load_checkpoint(checkpoint)
    with pytest.raises(InputError, match=r"checkpoint not found"):
        load_checkpoint(tmp_path / "missing")


def test_resume_from_corrupt_checkpoint_is_an_input_error(faces: Path, tmp_path: Path) -> None:
    config = make_config(faces, tmp_path / "run", SMALL_UNET)
    train(config, progress=False)
    (latest_checkpoint(tmp_path / "run") / "state.pt").write_bytes(b"\x00garbage")
    with pytest.raises(InputError, match=r"corrupt"):
        train(config, resume=True, progress=False)


# ---------------------------------------------------------------- (f) logs and config


def test_run_folder_logs_and_config(faces: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = train(make_config(faces, run, SMALL_UNET, "log.val_every=1"), progress=False)
    rows = read_log(run)
    assert {r["phase"] for r in rows} == {"train", "val"}
    train_names = {r["name"] for r in rows if r["phase"] == "train"}
    assert {"loss", "l1", "ssim", "edge", "lr", "steps_per_s"} <= train_names
    val_names = {r["name"] for r in rows if r["phase"] == "val"}
    assert {"abs_rel", "rmse", "delta1", "mae"} <= val_names
    assert [r["step"] for r in rows if r["name"] == "loss"] == ["1", "2"]
    assert [r["step"] for r in rows if r["name"] == "rmse"] == ["1", "2"]
    assert all(np.isfinite(float(r["value"])) for r in rows if r["name"] in ("loss", "rmse"))
    assert set(result["metrics"]) >= {"abs_rel", "rmse"}

    saved = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    assert list(saved) == list(SCHEMA)
    for section, defaults in SCHEMA.items():
        assert set(defaults) <= set(saved[section]), section
    assert saved["method"] == {
        "name": "supervised",
        "loss": "light_unet",
        "weights": {},
        "perceptual": None,
        "perceptual_path": None,
        "align": "none",
        "anchor_weight": 0.1,
        "behind_weight": 0.0,
    }
    assert saved["model"]["kwargs"] == {"in_channels": 3, "channels": [4, 8, 8, 8, 8]}
    assert load_config(run / "config.yaml")["schedule"]["steps"] == 2  # loads back

    events = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    assert sorted(p.name for p in (run / "model").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]


# ---------------------------------------------------------------- (g) devices and AMP


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_device_without_cuda() -> None:
    for name in ("cuda", "cuda:0"):
        with pytest.raises(InputError, match=r"CUDA is not available"):
            resolve_device(name)
    assert resolve_device("auto") == torch.device("cpu")


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(InputError, match=r"unknown device 'gpu7'"):
        resolve_device("gpu7")
    with pytest.raises(InputError, match=r"unsupported device 'meta'"):
        resolve_device("meta")


def test_resolve_amp() -> None:
    cpu = torch.device("cpu")
    assert resolve_amp("auto", cpu) is None
    assert resolve_amp("off", cpu) is None
    assert resolve_amp("bf16", cpu) is torch.bfloat16
    with pytest.raises(InputError, match=r"fp16 needs a CUDA device"):
        resolve_amp("fp16", cpu)
    with pytest.raises(InputError, match=r"unknown train.amp 'fp8'"):
        resolve_amp("fp8", cpu)


def test_trainer_argument_errors(faces: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown train.optimizer 'sgd'"):
        small_trainer(faces, tmp_path, optimizer="sgd")
    with pytest.raises(InputError, match=r"unknown schedule.scheduler 'linear'"):
        small_trainer(faces, tmp_path, scheduler="linear")
    with pytest.raises(InputError, match=r"must be >= 1"):
        small_trainer(faces, tmp_path, steps=0)
    with pytest.raises(InputError, match=r"fp16"):
        small_trainer(faces, tmp_path, amp="fp16")


@pytest.mark.parametrize(("amp", "dtype"), [("bf16", torch.bfloat16), ("off", torch.float32)])
def test_autocast_sets_the_dtype_of_activations(
    faces: Path, tmp_path: Path, amp: str, dtype: torch.dtype
) -> None:
    """train.amp=bf16 runs the forward pass under autocast (convolutions compute in bf16
    on the CPU too); off keeps float32. The weights stay float32 either way."""
    trainer = small_trainer(faces, tmp_path / "run", steps=1, amp=amp)
    convs = [m for m in trainer.method.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs
    seen: list[torch.dtype] = []
    for conv in convs:
        conv.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    trainer.fit()
    assert len(seen) >= len(convs)  # every convolution ran in the training step
    assert set(seen) == {dtype}
    assert all(
        v.dtype == torch.float32
        for v in trainer.method.state_dict().values()
        if v.is_floating_point()
    )


# ---------------------------------------------------------------- (h, i) other methods


@pytest.fixture(scope="module")
def autoencoder_run(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("ae") / "run"
    config = make_config(
        faces,
        out,
        "model.name=depth_autoencoder",
        "model.kwargs={in_channels: 1, widths: [4, 8, 8]}",
        "method.name=depth_autoencoder",
    )
    return train(config, progress=False)


def test_depth_autoencoder_trains_and_exports_an_encoder(autoencoder_run: dict) -> None:
    from rgb2depth.losses import autoencoder_encoder
    from rgb2depth.models import read_model_config

    assert autoencoder_run["steps"] == 2
    folder = autoencoder_run["model_dir"]
    config = read_model_config(folder)
    assert config["model"]["name"] == "depth_autoencoder"
    assert config["model"]["kwargs"]["in_channels"] == 1
    assert config["trained"]["method"]["name"] == "depth_autoencoder"
    encoder = autoencoder_encoder(folder)
    features = encoder(torch.zeros(2, 1, 32, 32))
    assert features.shape == (2, 8, 4, 4)
    assert not any(p.requires_grad for p in encoder.parameters())
    assert np.isfinite(autoencoder_run["metrics"]["rmse"])


def test_perceptual_alignment_with_own_autoencoder(
    faces: Path, tmp_path: Path, autoencoder_run: dict
) -> None:
    config = make_config(
        faces,
        tmp_path / "run",
        SMALL_UNET,
        "method.loss=perceptual_alignment",
        "method.perceptual=autoencoder",
        f"method.perceptual_path={autoencoder_run['model_dir']}",
        "method.weights={lam: 0.1, gamma: 0.5}",
        "log.val_every=1",
    )
    result = train(config, progress=False)
    assert result["steps"] == 2
    names = {r["name"] for r in read_log(tmp_path / "run") if r["phase"] == "train"}
    assert "loss" in names and any("perceptual" in n for n in names), names
    losses = [float(r["value"]) for r in read_log(tmp_path / "run") if r["name"] == "loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_mse_face_generator_grayscale(faces: Path, tmp_path: Path) -> None:
    from rgb2depth import Predictor

    config = make_config(
        faces,
        tmp_path / "run",
        "model.name=face_cgan_generator",
        "model.kwargs={encoder_widths: [4, 8, 8, 8], decoder_widths: [8, 8, 4, 4]}",
        "method.loss=mse",
        "data.grayscale=true",
        "data.preset=none",
        "train.betas=[0.5, 0.999]",
    )
    result = train(config, progress=False)
    assert result["steps"] == 2
    names = {r["name"] for r in read_log(tmp_path / "run") if r["phase"] == "train"}
    assert {"loss", "mse"} <= names
    predictor = Predictor.from_pretrained(result["model_dir"], device="cpu")
    assert predictor.grayscale and predictor.model.in_channels == 1
    depth = predictor.predict(np.full((32, 32, 3), 128, np.uint8))
    assert depth.shape == (32, 32) and np.isfinite(depth).all()


def test_resumed_log_drops_later_and_cut_rows(tmp_path: Path) -> None:
    from rgb2depth.engine.logging import RunLogger

    log = tmp_path / "log.csv"
    # killed while appending step 12's row, cut after its first digit (no newline);
    # the last checkpoint was step 2
    log.write_text(
        "step,phase,name,value\n1,train,loss,0.5\n2,train,loss,0.4\n2,val,rmse,3\n"
        "3,train,loss,0.3\n1",
        encoding="utf-8",
    )
    logger = RunLogger(tmp_path, resume_step=2, tensorboard=False)
    logger.scalars(3, "train", {"loss": 0.25})
    logger.close()
    assert log.read_text(encoding="utf-8").splitlines() == [
        "step,phase,name,value",
        "1,train,loss,0.5",
        "2,train,loss,0.4",
        "2,val,rmse,3",
        "3,train,loss,0.25",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]  # no temporary left
