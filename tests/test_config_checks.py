"""Every config key is checked in one place (rgb2depth.config.SPECS), and every
documented value of every key works both in a YAML file and as an override."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rgb2depth.cli.main import main
from rgb2depth.config import SCHEMA, SPECS, Choice, check_config, dump_config, load_config
from rgb2depth.errors import InputError
from tiny_run import write_tiny_config

ROOT = ["data.root=some/data"]


# ---------------------------------------------------------------- ranges and types


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.batch_size=0", "train.batch_size must be an integer >= 1, got 0"),
        ("train.lr=-1", "train.lr must be a number > 0, got -1"),
        ("train.lr=0", "train.lr must be a number > 0, got 0"),
        ("train.lr=.nan", "train.lr must be a number > 0, got nan"),
        ("train.lr=.inf", "train.lr must be a number > 0, got inf"),
        ("train.betas=[2,3]", "train.betas[0] must be a number in [0, 1), got 2"),
        ("train.betas=[0.9,1]", "train.betas[1] must be a number in [0, 1), got 1"),
        ("train.betas=[0.9]", "train.betas must be a list of 2 numbers in [0, 1), got [0.9]"),
        ("train.weight_decay=-0.1", "train.weight_decay must be a number >= 0, got -0.1"),
        ("train.grad_clip=-1", "train.grad_clip must be a number >= 0 or null, got -1"),
        ("train.seed=-1", "train.seed must be an integer from 0 to 4294967295, got -1"),
        ("train.seed=1.5", "train.seed must be an integer from 0 to 4294967295, got 1.5"),
        ("data.workers=-1", "data.workers must be an integer >= 0, got -1"),
        ("data.size=[32]", "data.size must be a list of 2 integers >= 1 [H, W], got [32]"),
        ("data.size=[32,abc]", "data.size[1] (W) must be an integer >= 1, got 'abc'"),
        ("data.size=[0,32]", "data.size[0] (H) must be an integer >= 1, got 0"),
        ("data.size=[32,32,32]", "data.size must be a list of 2 integers >= 1 [H, W]"),
        ("data.root=''", "data.root must be a folder path, got ''"),
        ("data.generate=3", "data.generate must be a mapping"),
        ("model.kwargs=[1]", "model.kwargs must be a mapping"),
        ("model.name=7", "model.name must be a non-empty string, got 7"),
        ("log.every=-1", "log.every must be an integer >= 0, got -1"),
        ("log.val_every=-5", "log.val_every must be an integer >= 0, got -5"),
        ("log.ckpt_every=-2", "log.ckpt_every must be an integer >= 0, got -2"),
        ("log.keep_checkpoints=-1", "log.keep_checkpoints must be an integer >= 0, got -1"),
        ("log.images=-1", "log.images must be an integer >= 0, got -1"),
        ("log.val_max_images=-1", "log.val_max_images must be an integer >= 0, got -1"),
        ("schedule.steps=0", "schedule.steps must be an integer >= 1, got 0"),
        ("schedule.warmup_steps=-3", "schedule.warmup_steps must be an integer >= 0, got -3"),
        ("schedule.decay_every=-1", "schedule.decay_every must be an integer >= 0, got -1"),
        ("schedule.decay_factor=0", "schedule.decay_factor must be a number > 0, got 0"),
        ("log.progress=yes", "log.progress must be true or false, got 'yes'"),
    ],
)
def test_value_out_of_range_or_of_the_wrong_type(override: str, message: str) -> None:
    with pytest.raises(InputError) as e:
        load_config(None, [*ROOT, override])
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("override", "choices"),
    [
        ("train.amp=fp8", "auto, off, bf16, fp16"),
        ("train.amp=no", "auto, off, bf16, fp16"),
        ("train.device=gpu", "auto, cpu, cuda, cuda:N"),
        ("train.device=cuda:x", "auto, cpu, cuda, cuda:N"),
        ("train.optimizer=sgd", "adam, adamw"),
        ("schedule.scheduler=linear", "constant, cosine, step"),
        ("data.preset=fancy", "light_unet"),
    ],
)
def test_unknown_choice(override: str, choices: str) -> None:
    key, value = override.split("=")
    with pytest.raises(InputError) as e:
        load_config(None, [*ROOT, override])
    msg = str(e.value)
    assert msg.startswith(f"{key} must be one of: "), msg
    assert choices in msg and msg.endswith(f"got {value!r}"), msg


def test_choices_come_from_where_they_are_defined() -> None:
    from rgb2depth.data.transforms import PRESETS
    from rgb2depth.engine import trainer

    def choices(section: str, key: str) -> tuple[str, ...]:
        spec = SPECS[section][key]
        assert isinstance(spec, Choice)
        return spec.choices()

    assert choices("train", "optimizer") == trainer.OPTIMIZERS
    assert choices("schedule", "scheduler") == trainer.SCHEDULERS
    assert choices("train", "amp") == trainer.AMP_MODES
    assert choices("train", "device") == trainer.DEVICES
    assert choices("data", "preset") == tuple(PRESETS)


def test_every_key_has_a_spec_whose_default_passes() -> None:
    assert {s: set(k) for s, k in SPECS.items()} == {s: set(k) for s, k in SCHEMA.items()}
    config = {s: {k: spec.default for k, spec in specs.items()} for s, specs in SPECS.items()}
    config["data"]["root"] = "d"  # the one required key without a default
    check_config(config)


def test_importing_the_config_does_not_import_torch() -> None:
    code = "import rgb2depth.config, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- documented values


def _documented() -> list[tuple[str, str, str]]:
    return [
        (section, key, text)
        for section, specs in SPECS.items()
        for key, spec in specs.items()
        for text in spec.documented()
    ]


@pytest.mark.parametrize(("section", "key", "text"), _documented())
def test_documented_value_works_in_a_file_and_as_an_override(
    section: str, key: str, text: str, tmp_path: Path
) -> None:
    root = [] if (section, key) == ("data", "root") else ROOT
    from_override = load_config(None, [*root, f"{section}.{key}={text}"])
    path = tmp_path / "c.yaml"
    path.write_text(f"{section}:\n  {key}: {text}\n", encoding="utf-8")
    from_file = load_config(path, root)
    assert from_file == from_override
    value = from_file[section][key]
    SPECS[section][key].check(f"{section}.{key}", value)
    if isinstance(SPECS[section][key], Choice) or text in ("on", "off", "yes", "no"):
        assert value == text  # names are text, off included
    # and the saved config (config.yaml) reads back the same
    saved = tmp_path / "saved.yaml"
    saved.write_text(dump_config(from_file), encoding="utf-8")
    assert load_config(saved) == from_file


def test_every_key_has_a_documented_value() -> None:
    for section, specs in SPECS.items():
        for key, spec in specs.items():
            assert spec.documented(), f"{section}.{key}"


def test_amp_off_in_particular() -> None:
    assert load_config(None, [*ROOT, "train.amp=off"])["train"]["amp"] == "off"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("false", False),
        ("True", True),
        ("FALSE", False),
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("no", "no"),
        ("y", "y"),
        ("n", "n"),
    ],
)
def test_only_true_and_false_are_booleans(text: str, value: object, tmp_path: Path) -> None:
    # open keys keep what YAML read, so what the loader reads shows directly
    config = load_config(None, [*ROOT, f"model.kwargs.flag={text}"])
    assert config["model"]["kwargs"]["flag"] == value
    assert type(config["model"]["kwargs"]["flag"]) is type(value)
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {{root: d}}\nmodel:\n  kwargs: {{flag: {text}}}\n", encoding="utf-8")
    assert load_config(path)["model"]["kwargs"]["flag"] == value


# ---------------------------------------------------------------- through the command line


@pytest.fixture(scope="module")
def config_file(tiny_faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_config(tmp_path_factory.mktemp("checks") / "tiny.yaml", tiny_faces, steps=1)


@pytest.mark.parametrize(
    "override",
    [
        "train.batch_size=0",
        "train.lr=-1",
        "train.betas=[2,3]",
        "data.workers=-1",
        "data.size=[32]",
        "data.size=[32,abc]",
        "log.every=-1",
        "schedule.warmup_steps=-3",
        "train.seed=-1",
        "train.amp=fp8",
    ],
)
def test_cli_refuses_before_writing(override: str, config_file: Path, tmp_path: Path, capsys):
    out = tmp_path / "run"
    code = main(["train", str(config_file), f"log.out={out}", "--quiet", override])
    _, err = capsys.readouterr()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    key = override.split("=")[0]
    assert lines[0].startswith(f"rgb2depth train: error: {key}"), lines[0]
    assert not out.exists()


def test_cli_trains_with_amp_off(config_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["train", str(config_file), f"log.out={out}", "--quiet", "train.amp=off"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["amp"] == "off"
