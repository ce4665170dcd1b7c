"""Indoor rooms through NYU-like Kinect intrinsics (seed 003)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from rgb2depth.data.synthetic.rooms import KINECT_INTRINSICS, Rooms
from rgb2depth.errors import InputError


@pytest.fixture(scope="module")
def kind() -> Rooms:
    return Rooms()


@pytest.fixture(scope="module")
def group(kind: Rooms) -> dict:
    return kind.sample_group(np.random.default_rng(0))


def _empty_room(kind: Rooms, w: float, h: float, d: float) -> dict:
    g = copy.deepcopy(kind.sample_group(np.random.default_rng(1)))
    g["size"] = [w, h, d]
    g["objects"] = []
    g["openings"] = []
    g["keepout"] = []
    return g


def test_class_attributes(kind: Rooms) -> None:
    assert kind.units == "m"
    assert kind.depth_range == (0.5, 10.0)
    assert kind.png_scale == 0.001 and kind.png_offset == 0.0
    assert round(10.0 / kind.png_scale) <= 65535


def test_intrinsics_are_kinect_scaled_per_axis(kind: Rooms) -> None:
    k = kind.intrinsics(480, 640)
    for key in ("fx", "fy", "cx", "cy"):
        assert k[key] == pytest.approx(KINECT_INTRINSICS[key])
    k = kind.intrinsics(96, 128)
    assert k["fx"] == pytest.approx(518.86 * 128 / 640)
    assert k["fy"] == pytest.approx(519.47 * 96 / 480)
    assert k["cx"] == pytest.approx(325.58 * 128 / 640)
    assert k["cy"] == pytest.approx(253.74 * 96 / 480)


@pytest.mark.parametrize("size", [(64, 64), (96, 128), (128, 96)])
def test_shapes_dtypes_and_range(kind: Rooms, group: dict, size) -> None:
    h, w = size
    s = kind.render(group, np.random.default_rng(2), h, w)
    assert s.rgb.shape == (h, w, 3) and s.rgb.dtype == np.uint8
    assert s.depth.shape == (h, w) and s.depth.dtype == np.float32
    valid = s.depth != 0
    assert valid.mean() > 0.5
    assert s.depth[valid].min() >= 0.5 and s.depth[valid].max() <= 10.0
    assert np.isfinite(s.depth).all()
    json.dumps(s.meta)


def test_depth_range_over_many_rooms(kind: Rooms) -> None:
    rng = np.random.default_rng(3)
    for _ in range(10):
        g = kind.sample_group(rng)
        d = kind.render(g, rng, 32, 40).depth
        v = d[d != 0]
        assert v.size > 0 and v.min() >= 0.5 and v.max() <= 10.0


def test_render_is_deterministic_and_independent_of_the_cache(group: dict) -> None:
    a = Rooms().render(group, np.random.default_rng(5), 48, 64)
    warm = Rooms()
    warm.render(group, np.random.default_rng(9), 32, 32)
    b = warm.render(group, np.random.default_rng(5), 48, 64)
    assert a.rgb.tobytes() == b.rgb.tobytes()
    assert a.depth.tobytes() == b.depth.tobytes()
    assert a.meta == b.meta


def test_group_is_json_serialisable_and_round_trips(kind: Rooms) -> None:
    g = kind.sample_group(np.random.default_rng(4))
    g2 = json.loads(json.dumps(g))
    a = kind.render(g, np.random.default_rng(6), 40, 40)
    b = kind.render(g2, np.random.default_rng(6), 40, 40)
    assert a.depth.tobytes() == b.depth.tobytes()
    assert a.rgb.tobytes() == b.rgb.tobytes()


def test_objects_lie_inside_the_room(kind: Rooms) -> None:
    rng = np.random.default_rng(7)
    for _ in range(10):
        g = kind.sample_group(rng)
        w, h, d = g["size"]
        assert 3.0 <= w <= 8.0 and 3.0 <= d <= 8.0 and 2.4 <= h <= 3.2
        for o in g["objects"]:
            x, y, z = o["center"]
            assert -0.01 <= x <= w + 0.01 and 0.0 <= y <= h and -0.01 <= z <= d + 0.01


def test_depth_is_z_along_the_optical_axis(kind: Rooms) -> None:
    """A level camera: floor depth is constant along rows, the facing wall is flat."""
    g = _empty_room(kind, 8.0, 3.0, 8.0)
    cam_y = 1.5
    pose = {"position": [4.0, cam_y, 4.0], "yaw": 0.0, "pitch": 0.0, "roll": 0.0}
    h, w = 96, 128
    depth = kind.render_pose(g, pose, np.random.default_rng(0), h, w).depth
    k = kind.intrinsics(h, w)
    # the wall at z = 8 faces the camera: every wall pixel is 4 m deep (ray lengths vary)
    centre_row = int(k["cy"])
    np.testing.assert_allclose(depth[centre_row], 4.0, rtol=1e-4)
    # floor rows: y_c = (v + 0.5 - cy) / fy, the floor plane is cam_y below -> z = cam_y / y_c
    for v in range(h - 5, h):
        yc = (v + 0.5 - k["cy"]) / k["fy"]
        np.testing.assert_allclose(depth[v], cam_y / yc, rtol=1e-4)


def test_near_pixels_are_invalid(kind: Rooms) -> None:
    g = _empty_room(kind, 3.0, 2.5, 3.0)
    pose = {"position": [1.5, 1.2, 2.7], "yaw": 0.0, "pitch": 0.0, "roll": 0.0}
    depth = kind.render_pose(g, pose, np.random.default_rng(0), 32, 32).depth
    assert (depth[12:20, 12:20] == 0).all()  # the wall is 0.3 m away


def test_bad_arguments_raise(kind: Rooms, group: dict) -> None:
    with pytest.raises(InputError, match="view"):
        kind.render(group, np.random.default_rng(0), 32, 32, "stereo")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="width"):
        kind.render(group, np.random.default_rng(0), 32, 2)
