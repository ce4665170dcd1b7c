"""The contract between the synthetic scene renderers and the dataset writer.

A *scene kind* (faces, surfaces, rooms) knows how to draw the parameters of a
*group* (one face identity, one cylinder liner, one room) and how to render one
view of a group into an RGB image and a depth map from the same geometry.
The writer (:mod:`rgb2depth.data.synthetic.generate`) owns everything else:
seeding, splits by group, paired / unpaired domains, files and previews.

Conventions for every kind:

* camera frame: x right, y down, z forward (optical axis); pixel (0, 0) is the
  top-left pixel and its centre is at (0.5, 0.5) in continuous pixel coordinates.
* ``depth`` is in the kind's ``units`` (z along the optical axis for scenes
  seen through a pinhole camera, surface height for ``surfaces``), float32,
  with ``0.0`` marking invalid pixels (e.g. face background).
* rendering is a pure function of its arguments: the same group parameters, the
  same ``rng`` state and the same size give byte-identical arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

View = Literal["paired", "rgb", "depth"]
"""Which domain a view is rendered for.

``"paired"``: RGB and depth of the same view. ``"rgb"`` / ``"depth"``: a view for
the RGB-only / depth-only domain of an unpaired set; a kind may render these
differently (``surfaces`` takes RGB views at 4.2 mm and depth crops at 1.9 mm, as
seed 000's handheld microscope and confocal microscope do). Both arrays are
returned in every case; the writer keeps the one the domain needs.
"""


@dataclass
class RenderedSample:
    """One rendered view.

    Attributes:
        rgb: (H, W, 3) uint8 image.
        depth: (H, W) float32 depth in the kind's units, 0.0 where invalid.
        meta: JSON-serialisable facts about this view (pose, lights, window, ...).
    """

    rgb: np.ndarray
    depth: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


class SceneKind(ABC):
    """A family of procedural RGB-D scenes.

    Class attributes describe the depth encoding that the writer puts into
    ``dataset.json``: ``depth = png_offset + png_scale * png_value`` for
    ``png_value > 0``; a PNG value of 0 is invalid. A kind whose depth is a
    signed height with no invalid pixels sets ``all_valid = True``, so that 0.0
    is a height like any other.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    units: ClassVar[str]  # "mm", "um", "m"
    depth_range: ClassVar[tuple[float, float]]  # valid range, inclusive, in units
    png_scale: ClassVar[float]  # units per 16-bit PNG count
    png_offset: ClassVar[float]  # units at PNG count 0 (count 0 itself is invalid)
    views_per_group: ClassVar[int]  # views rendered of each group (identity, liner, room)
    group_label: ClassVar[str] = "group"  # what a group is: "identity", "liner", "room"
    all_valid: ClassVar[bool] = False  # True: every pixel valid, 0.0 is a real value (heights)

    @abstractmethod
    def intrinsics(self, height: int, width: int) -> dict[str, float] | None:
        """Pinhole intrinsics ``{"fx", "fy", "cx", "cy"}`` in pixels, or None."""

    @abstractmethod
    def sample_group(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw the parameters of one group (JSON-serialisable)."""

    @abstractmethod
    def render(
        self,
        group: dict[str, Any],
        rng: np.random.Generator,
        height: int,
        width: int,
        view: View = "paired",
    ) -> RenderedSample:
        """Render one view of ``group`` (pose, lights, crop drawn from ``rng``)."""
