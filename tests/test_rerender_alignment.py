"""SfM helpers: matching choice, similarity alignment and rotation errors."""

from __future__ import annotations

import numpy as np
import pytest

from neuralwrap.errors import InputError
from neuralwrap.rerender.capture.alignment import rotation_errors_deg, umeyama
from neuralwrap.rerender.capture.sfm import SfmOptions, choose_matching


def _rot(axis: np.ndarray, deg: float) -> np.ndarray:
    a = axis / np.linalg.norm(axis)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    th = np.radians(deg)
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * K @ K


def test_choose_matching():
    o = SfmOptions(exhaustive_limit=10)
    assert choose_matching(10, o) == "exhaustive" and choose_matching(11, o) == "retrieval"


def test_umeyama_recovers_similarity_and_zero_rotation_error():
    rng = np.random.default_rng(0)
    C = rng.normal(size=(8, 3))
    A = _rot(np.array([1.0, 2.0, 3.0]), 40)
    s, R, t = umeyama(C, 2.5 * C @ A.T + 1.0)
    assert s == pytest.approx(2.5) and np.allclose(R, A) and np.allclose(t, 1.0)
    Rg = np.stack([_rot(rng.normal(size=3), rng.uniform(0, 90)) for _ in range(8)])
    Re = np.einsum("nij,jk->nik", Rg, A)  # same cameras in a world rotated by Aᵀ
    assert rotation_errors_deg(Re, C @ A, Rg, C).max() < 1e-4
    Re[0] = _rot(np.array([0.0, 0.0, 1.0]), 3.0) @ Re[0]
    assert rotation_errors_deg(Re, C @ A, Rg, C)[0] == pytest.approx(3.0, abs=1e-4)
    with pytest.raises(InputError):
        umeyama(C[:2], C[:2])
