"""A tiny finished-capture work dir (``dataset/`` + ``densify/points.npz``) of a synthetic landmark, shared by
the rerender tests: the landmark's static pixels back-projected to points, splatted into every view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from neuralwrap.rerender import Frame, PinholeCamera, write_frame, write_index
from neuralwrap.rerender.capture import splat_points
from neuralwrap.rerender.models.networks import RerenderConfig
from neuralwrap.synthetic import make_landmark

#: photo size (px) of the work dir
W, H = 96, 72


def backproject(view, step: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World points, uint8 colours and normals of the static pixels of ``view`` (every ``step`` px)."""
    d = view.depth[::step, ::step]
    vs, us = np.mgrid[0 : view.depth.shape[0] : step, 0 : view.depth.shape[1] : step].astype(np.float64) + 0.5
    ok = (d > 0) & ~view.transient_mask[::step, ::step]
    K = view.K
    cam = np.stack([(us - K[0, 2]) / K[0, 0] * d, (vs - K[1, 2]) / K[1, 1] * d, d], -1)[ok]
    world = (cam - view.t) @ view.R  # R^T (x - t)
    normals = np.tile(-view.R[2], (len(world), 1))  # facing the camera that saw them
    return world.astype(np.float32), view.image[::step, ::step][ok], normals.astype(np.float32)


def make_work_dir(root: Path, num_photos: int = 6) -> Path:
    """Write the work dir of a ``num_photos``-photo ``W×H`` landmark (seed 0, ≤ 2 people) under ``root``."""
    scene = make_landmark(num_photos=num_photos, width=W, height=H, seed=0, max_people=2)
    xyz, rgb, nrm = (np.concatenate(a) for a in zip(*[backproject(v) for v in scene.views]))
    (root / "densify").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(root / "densify" / "points.npz", xyz=xyz, rgb=rgb, normals=nrm)
    records = []
    for v in scene.views:
        cam = PinholeCamera(W, H, v.K[0, 0], v.K[1, 1], v.K[0, 2], v.K[1, 2], v.R, v.t)
        out = splat_points(
            torch.from_numpy(xyz), torch.from_numpy(rgb).float() / 255, cam, normals=torch.from_numpy(nrm), radius=1
        )
        color = (out.color.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
        frame = Frame(
            f"{v.name}.png",
            cam,
            v.image,
            color,
            out.depth[0].numpy(),
            out.normals.permute(1, 2, 0).numpy(),
            (v.transient_mask * 15).astype(np.uint8),
        )
        records.append(write_frame(root / "dataset", frame))
    write_index(root / "dataset", records)
    return root


def tiny_config(width: int = 64, height: int = 48, **over: object) -> RerenderConfig:
    """The tiny rerendering network the tests train in seconds (``over`` replaces fields)."""
    base: dict[str, object] = dict(
        width=width,
        height=height,
        gen_enc=(8, 16, 16),
        gen_dec=(16, 16, 16, 8),
        enc_widths=(8, 16),
        disc_widths=(8, 16, 16),
        disc_scales=2,
        color_skip=True,
    )
    return RerenderConfig(**{**base, **over})
