"""Training methods: each owns its networks, optimisation steps and losses."""

from rgb2depth.methods import adapt as _adapt  # noqa: F401  (registers)
from rgb2depth.methods import adversarial as _adversarial  # noqa: F401  (registers)
from rgb2depth.methods import supervised as _supervised  # noqa: F401  (registers)
from rgb2depth.methods import unsupervised as _unsupervised  # noqa: F401  (registers)
from rgb2depth.methods.base import (
    METHODS,
    Method,
    MethodContext,
    OptimStep,
    build_method,
    example_sections,
    method_defaults,
    register_method,
)

__all__ = [
    "METHODS",
    "Method",
    "MethodContext",
    "OptimStep",
    "build_method",
    "example_sections",
    "method_defaults",
    "register_method",
]
