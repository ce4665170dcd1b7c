"""Checks of method options shared by the methods: one line naming ``method.KEY`` and
what it accepts (:class:`~rgb2depth.errors.InputError`), and building a named network."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch import nn

from rgb2depth.errors import InputError

__all__ = [
    "CRITICS",
    "check_betas",
    "check_bool",
    "check_int",
    "check_number",
    "check_optional_lr",
    "check_spec",
    "create_network",
    "critic_settings",
    "is_int",
    "is_number",
]


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_int(name: str, value: Any, minimum: int) -> int:
    if not (is_int(value) and value >= minimum):
        raise InputError(f"method.{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_number(name: str, value: Any, *, positive: bool = False) -> float:
    ok = is_number(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise InputError(
            f"method.{name} must be a number {'> 0' if positive else '>= 0'}, got {value!r}"
        )
    return float(value)


def check_optional_lr(name: str, value: Any) -> float | None:
    return None if value is None else check_number(name, value, positive=True)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"method.{name} must be true or false, got {value!r}")
    return value


def check_spec(name: str, value: Any) -> tuple[str, dict[str, Any]]:
    """``{name, kwargs}`` of a network -> (name, kwargs)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        raise InputError(
            f"method.{name} must be a mapping {{name: <model>, kwargs: {{...}}}}, got {value!r}"
        )
    extra = sorted(set(value) - {"name", "kwargs"})
    if extra:
        raise InputError(f"method.{name} got unknown key {extra[0]!r}; valid keys: name, kwargs")
    kwargs = value.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise InputError(f"method.{name}.kwargs must be a mapping, got {kwargs!r}")
    return value["name"], dict(kwargs)


def create_network(what: str, name: str, kwargs: dict[str, Any]) -> nn.Module:
    from rgb2depth.models import create_model

    try:
        return create_model(name, **kwargs)
    except InputError as e:
        raise InputError(f"{what}: {e}") from None


CRITICS = ("dcgan_critic", "patchgan_critic")
"""The seed-000 critics a method may name in ``method.critic``."""


def check_betas(name: str, value: Any) -> tuple[float, float]:
    """Adam's ``(beta1, beta2)``: two numbers in [0, 1)."""
    if not (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(is_number(b) and 0 <= b < 1 for b in value)
    ):
        raise InputError(f"method.{name} must be two numbers in [0, 1), got {value!r}")
    return float(value[0]), float(value[1])


def critic_settings(critic: Any, kwargs: Any) -> tuple[str, dict[str, Any]]:
    """``method.critic`` and ``method.critic_kwargs`` checked: a name of :data:`CRITICS`
    and a mapping without ``in_channels`` (the method sets it)."""
    if not isinstance(critic, str) or critic not in CRITICS:
        raise InputError(f"unknown method.critic {critic!r}; known critics: {', '.join(CRITICS)}")
    kwargs = kwargs or {}
    if not isinstance(kwargs, Mapping):
        raise InputError(f"method.critic_kwargs must be a mapping, got {kwargs!r}")
    if "in_channels" in kwargs:
        raise InputError("method.critic_kwargs.in_channels is set by the method; leave it out")
    return critic, dict(kwargs)
