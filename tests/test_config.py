"""Run configuration: defaults, files, dotted overrides and the checks on each key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rgb2depth.config import SCHEMA, dump_config, load_config
from rgb2depth.errors import InputError
from rgb2depth.methods import METHODS, MethodContext, build_method, method_defaults

ROOT = ["data.root=some/data"]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def build(section: dict) -> object:
    context = MethodContext(in_channels=3, depth_units="mm", depth_range=(500.0, 1800.0))
    return build_method(section, torch.nn.Conv2d(3, 1, 1), context)


# ---------------------------------------------------------------- defaults, files, overrides


def test_defaults_filled_in() -> None:
    config = load_config(None, ROOT)
    assert list(config) == list(SCHEMA)
    for section, defaults in SCHEMA.items():
        assert set(config[section]) == set(defaults), section
    assert config["data"]["root"] == "some/data"
    assert config["train"]["lr"] == SCHEMA["train"]["lr"]
    assert config["schedule"]["steps"] == SCHEMA["schedule"]["steps"]
    assert config["method"] == {"name": "supervised"}
    # the schema's defaults are not shared with (or changed through) a loaded config
    config["model"]["kwargs"]["x"] = 1
    assert SCHEMA["model"]["kwargs"] == {}


def test_file_and_overrides(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.yaml",
        """
data:
  root: d
  generate: {kind: faces, n: 3000, size: 64, seed: 1}
model:
  kwargs: {channels: [4, 8, 8, 8, 8]}
train:
  lr: 5.0e-4
  weight_decay: 1e-5
  batch_size: 8
""",
    )
    config = load_config(
        cfg,
        [
            "train.lr=2e-4",
            "data.size=[96, 128]",
            "data.generate.n=8",
            "model.kwargs.out_channels=1",
            "train.grad_clip=null",
            "schedule.steps=7",
        ],
    )
    assert config["train"]["lr"] == pytest.approx(2e-4) and isinstance(config["train"]["lr"], float)
    assert config["train"]["batch_size"] == 8  # from the file
    assert config["train"]["weight_decay"] == pytest.approx(1e-5)  # 1e-5 is a float, not text
    assert config["data"]["size"] == [96, 128]
    # a nested override merges into the file's mapping instead of replacing it
    assert config["data"]["generate"] == {"kind": "faces", "n": 8, "size": 64, "seed": 1}
    assert config["model"]["kwargs"] == {"channels": [4, 8, 8, 8, 8], "out_channels": 1}
    assert config["train"]["grad_clip"] is None
    assert config["schedule"]["steps"] == 7
    assert config["data"]["root"] == "d"


def test_later_override_wins_and_open_section_from_nothing() -> None:
    config = load_config(None, [*ROOT, "train.lr=1e-3", "train.lr=3e-3", "data.generate.n=8"])
    assert config["train"]["lr"] == pytest.approx(3e-3)
    assert config["data"]["generate"] == {"n": 8}


def test_int_accepted_for_float_key() -> None:
    assert load_config(None, [*ROOT, "train.lr=1"])["train"]["lr"] == 1


@pytest.mark.parametrize(
    ("text", "value"), [("2e-4", 2e-4), ("-1.5E+3", -1500.0), ("3.", 3.0), ("1_0e1", 100.0)]
)
def test_float_without_dot_is_a_float(text: str, value: float) -> None:
    # (an open key, as train.lr refuses the negative ones)
    x = load_config(None, [*ROOT, f"model.kwargs.x={text}"])["model"]["kwargs"]["x"]
    assert isinstance(x, float) and x == pytest.approx(value)


def test_numbers_in_strings_stay_strings() -> None:
    config = load_config(None, ["data.root=runs/1e5", "log.out=1e5x"])
    assert config["data"]["root"] == "runs/1e5" and config["log"]["out"] == "1e5x"


def test_dump_config_round_trips(tmp_path: Path) -> None:
    config = load_config(None, [*ROOT, "data.size=[32,48]", "model.kwargs.channels=[4,8,8,8,8]"])
    again = load_config(write(tmp_path / "dump.yaml", dump_config(config)))
    assert again == config


def test_example_config_loads() -> None:
    path = Path(__file__).parents[1] / "configs" / "faces-light.yaml"
    config = load_config(path)
    assert config["model"]["name"] == "light_unet"
    assert config["method"]["loss"] == "light_unet"


# ---------------------------------------------------------------- errors


def test_misspelt_key_in_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.yaml", "data: {root: d}\ntrian: {lr: 1.0e-3}\n")
    with pytest.raises(InputError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert "'trian'" in msg and "did you mean 'train'" in msg
    for section in SCHEMA:
        assert section in msg


def test_misspelt_nested_key_in_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.yaml", "data: {root: d, szie: [32, 32]}\n")
    with pytest.raises(InputError, match=r"'data\.szie'.*valid keys: root.*did you mean 'size'"):
        load_config(cfg)


def test_misspelt_key_in_override() -> None:
    with pytest.raises(InputError) as e:
        load_config(None, [*ROOT, "train.lrr=1e-3"])
    msg = str(e.value)
    assert "'train.lrr'" in msg and "did you mean 'lr'" in msg
    for key in SCHEMA["train"]:
        assert key in msg
    with pytest.raises(InputError, match=r"did you mean 'train'"):
        load_config(None, [*ROOT, "trian.lr=1"])


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("train.lr=abc", "train.lr must be a number > 0, got 'abc'"),
        ("train.lr=true", "train.lr must be a number > 0, got True"),
        ("data.grayscale=1", "data.grayscale must be true or false, got 1"),
        ("data.size=64", r"data.size must be a list of 2 integers >= 1 \[H, W\], got 64"),
        ("train.optimizer=3", "train.optimizer must be one of: adam, adamw, got 3"),
        ("train.batch_size=4.0", "train.batch_size must be an integer >= 1, got 4.0"),
        ("schedule.steps=true", "schedule.steps must be an integer >= 1, got True"),
        ("log.progress=maybe", "log.progress must be true or false, got 'maybe'"),
    ],
)
def test_wrong_type(override: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        load_config(None, [*ROOT, override])


@pytest.mark.parametrize("override", ["train.lr", "=3", "train.lr 2e-4"])
def test_override_without_key_value(override: str) -> None:
    with pytest.raises(InputError, match=r"is not KEY=VALUE"):
        load_config(None, [*ROOT, override])


def test_override_with_bad_yaml() -> None:
    with pytest.raises(InputError, match=r"not valid YAML"):
        load_config(None, [*ROOT, "data.size=[32,"])


def test_section_must_be_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"'train' must be a mapping"):
        load_config(None, [*ROOT, "train=3"])
    with pytest.raises(InputError, match=r"expected a mapping of sections"):
        load_config(write(tmp_path / "c.yaml", "- a\n- b\n"))


def test_missing_data_root(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"data.root is required"):
        load_config(None)
    with pytest.raises(InputError, match=r"data.root is required"):
        load_config(write(tmp_path / "c.yaml", "train: {lr: 1.0e-3}\n"))


def test_missing_or_invalid_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match=r"is not valid YAML"):
        load_config(write(tmp_path / "bad.yaml", "data: {root: [\n"))


def test_method_name_required() -> None:
    with pytest.raises(InputError, match=r"method.name is required"):
        load_config(None, [*ROOT, "method.name=null"])


# ---------------------------------------------------------------- method options


def test_method_options_are_open_in_the_config() -> None:
    # the config accepts any method key; the method checks it (below)
    config = load_config(None, [*ROOT, "method.foo=1"])
    assert config["method"] == {"name": "supervised", "foo": 1}


def test_build_method_defaults() -> None:
    method = build({"name": "supervised"})
    assert method.name == "supervised"
    assert method_defaults("supervised") == {
        "loss": "light_unet",
        "weights": {},
        "perceptual": None,
        "perceptual_path": None,
        "align": "none",
        "anchor_weight": 0.1,
        "behind_weight": 0.0,
    }


def test_unknown_method_option_lists_valid_keys() -> None:
    with pytest.raises(InputError) as e:
        build({"name": "supervised", "foo": 1})
    msg = str(e.value)
    assert "'method.foo'" in msg
    for key in ("name", "loss", "weights", "perceptual", "perceptual_path"):
        assert key in msg
    with pytest.raises(InputError, match=r"valid keys: name$"):
        build({"name": "depth_autoencoder", "loss": "mse"})


def test_unknown_method_name_lists_methods() -> None:
    with pytest.raises(InputError) as e:
        build({"name": "gan"})
    msg = str(e.value)
    assert "unknown method 'gan'" in msg
    for name in METHODS:
        assert name in msg
    assert {"supervised", "depth_autoencoder"} <= set(METHODS)


def test_unknown_loss() -> None:
    with pytest.raises(InputError, match=r"unknown method.loss 'l2'.*light_unet.*mse"):
        build({"name": "supervised", "loss": "l2"})


@pytest.mark.parametrize(
    ("loss", "accepted"),
    [("light_unet", "alpha"), ("perceptual_alignment", "lam"), ("mse", "none")],
)
def test_unknown_loss_weight(loss: str, accepted: str) -> None:
    pattern = rf"method.weights got unknown setting\(s\) 'delta'; accepted settings: .*{accepted}"
    with pytest.raises(InputError, match=pattern):
        build({"name": "supervised", "loss": loss, "weights": {"delta": 1.0}})


def test_known_loss_weights_are_used() -> None:
    method = build({"name": "supervised", "loss": "light_unet", "weights": {"alpha": 1.0}})
    assert method.criterion is not None


def test_perceptual_needs_its_loss_and_a_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"perceptual_alignment only"):
        build({"name": "supervised", "loss": "mse", "perceptual": "autoencoder"})
    with pytest.raises(InputError, match=r"needs a path"):
        build({"name": "supervised", "loss": "perceptual_alignment", "perceptual": "autoencoder"})
    with pytest.raises(InputError, match=r"no such folder"):
        build(
            {
                "name": "supervised",
                "loss": "perceptual_alignment",
                "perceptual": "autoencoder",
                "perceptual_path": str(tmp_path / "missing"),
            }
        )
    with pytest.raises(InputError, match=r"unknown perceptual feature source 'vgg'"):
        build(
            {
                "name": "supervised",
                "loss": "perceptual_alignment",
                "perceptual": "vgg",
                "perceptual_path": "x",
            }
        )


def test_unknown_generate_key_names_the_accepted_ones(tmp_path) -> None:
    from rgb2depth.engine.run import prepare_data

    config = load_config(
        None,
        [f"data.root={tmp_path / 'new'}", "data.generate={kind: faces, n: 8, sizes: 32}"],
    )
    pattern = r"data.generate got unknown setting\(s\) 'sizes'.*n, size"
    with pytest.raises(InputError, match=pattern):
        prepare_data(config, progress=False)
    assert not (tmp_path / "new").exists()
