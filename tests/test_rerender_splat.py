"""Point splatter: z-buffer correctness on a hand-made case, shapes, devices, Module == function."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neuralwrap.errors import InputError
from neuralwrap.rerender.capture.splat import PointSplatter, splat_points
from neuralwrap.rerender.scene.camera import PinholeCamera


def _cam(w: int = 8, h: int = 6) -> PinholeCamera:
    return PinholeCamera(w, h, 10.0, 10.0, w / 2, h / 2, np.eye(3), np.zeros(3))


def test_nearest_point_wins_and_radius():
    # two points on the optical axis (pixel (3, 4)), the nearer is red; a far green one off-axis
    pts = torch.tensor([[0.0, 0.0, 5.0], [0.0, 0.0, 2.0], [0.25, 0.0, 5.0]], dtype=torch.float64)
    cols = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    out = splat_points(pts, cols, _cam(), radius=0)
    assert out.color.shape == (3, 6, 8) and out.depth.shape == (1, 6, 8) and out.normals is None
    assert out.index[3, 4] == 1 and out.depth[0, 3, 4] == 2.0
    assert torch.equal(out.color[:, 3, 4], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64))
    # the green point projects to u = 10*0.25/5 + 4 = 4.5 -> the same pixel, farther: it loses
    assert out.mask.sum() == 1
    out1 = splat_points(pts, cols, _cam(), radius=1)
    assert out1.mask.sum() == 9 and (out1.index[2:5, 3:6] == 1).all()


def test_behind_camera_and_outside_dropped():
    pts = torch.tensor([[0.0, 0.0, -1.0], [100.0, 0.0, 1.0]])
    out = splat_points(pts, torch.ones(2, 3), _cam(), radius=2)
    assert not out.mask.any() and (out.depth == 0).all()


def test_normals_rotate_into_camera_and_module_matches():
    R = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    cam = PinholeCamera(8, 6, 10.0, 10.0, 4.0, 3.0, R, np.array([0.0, 0.0, 3.0]))
    pts, nrm = torch.zeros(1, 3), torch.tensor([[1.0, 0.0, 0.0]])
    out = splat_points(pts, torch.ones(1, 3), cam, normals=nrm, radius=0)
    assert torch.allclose(out.normals[:, 3, 4], torch.tensor([0.0, 1.0, 0.0]))
    mod = PointSplatter(radius=0)(pts, torch.ones(1, 3), cam, nrm)
    assert torch.equal(mod.index, out.index) and out.color.dtype == torch.float32


def test_bad_shapes():
    with pytest.raises(InputError):
        splat_points(torch.zeros(4, 2), torch.zeros(4, 3), _cam())
    with pytest.raises(InputError):
        splat_points(torch.zeros(4, 3), torch.zeros(3, 3), _cam())
