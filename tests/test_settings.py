"""TrainSettings: one dataclass shared by the config schema and the trainer."""

from __future__ import annotations

import dataclasses

import pytest

from rgb2depth.config import SCHEMA, load_config
from rgb2depth.engine.settings import CONFIG_KEYS, TrainSettings


def test_every_field_reads_a_schema_key_and_takes_its_default() -> None:
    fields = {f.name: f for f in dataclasses.fields(TrainSettings)}
    assert set(fields) == set(CONFIG_KEYS)
    defaults = TrainSettings()
    for name, (section, key) in CONFIG_KEYS.items():
        expected = SCHEMA[section][key]
        expected = tuple(expected) if isinstance(expected, list) else expected
        assert getattr(defaults, name) == expected, name


def test_from_config_takes_every_value(tmp_path) -> None:
    config = load_config(
        None,
        [
            "data.root=d",
            "train.lr=3e-3",
            "train.betas=[0.5,0.9]",
            "schedule.steps=7",
            "log.every=3",
            "data.workers=2",
            "train.amp=off",
        ],
    )
    s = TrainSettings.from_config(config, progress=False)
    assert (s.lr, s.betas, s.steps, s.log_every, s.workers, s.amp) == (
        3e-3,
        (0.5, 0.9),
        7,
        3,
        2,
        "off",
    )
    assert s.progress is False


def test_trainer_refuses_an_unknown_setting(tmp_path) -> None:
    from rgb2depth.engine.trainer import Trainer
    from rgb2depth.errors import InputError

    with pytest.raises(InputError, match="stepz"):
        Trainer(None, [1], tmp_path, stepz=3)  # type: ignore[arg-type]
