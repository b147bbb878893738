"""Compare an SfM reconstruction with ground truth: similarity (Umeyama) alignment and pose errors."""

from __future__ import annotations

import numpy as np

from neuralwrap.errors import InputError

__all__ = ["rotation_errors_deg", "umeyama"]


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity ``(s, R, t)`` minimising ``Σ‖dst − (s·R·src + t)‖²``; ``src, dst`` are ``(N, 3)``, N ≥ 3."""
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3 or src.shape[0] < 3:
        raise InputError(f"umeyama needs two (N,3) arrays with N >= 3, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    fix = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[2, 2] = -1
    R = u @ fix @ vt
    s = float(np.trace(np.diag(d) @ fix) / (a * a).sum() * len(src))
    return s, R, mu_d - s * R @ mu_s


def rotation_errors_deg(R_est: np.ndarray, C_est: np.ndarray, R_gt: np.ndarray, C_gt: np.ndarray) -> np.ndarray:
    """Per-camera rotation error in degrees after aligning estimated centres to ground truth.

    ``R_*``: ``(N, 3, 3)`` world-to-camera rotations; ``C_*``: ``(N, 3)`` camera centres. Returns ``(N,)``.
    """
    _, A, _ = umeyama(C_est, C_gt)
    rel = np.einsum("nij,kj,nlk->nil", R_est, A, R_gt)  # R_est · Aᵀ · R_gtᵀ
    cos = (np.trace(rel, axis1=1, axis2=2) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
