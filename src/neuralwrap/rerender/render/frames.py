"""Novel-view rerendering: splat the point cloud into any camera, run the generator, write frames and videos.

Data flow for one frame::

    camera ─► splat_points (same radius / encoding as ``rerender capture``) ─► Frame (deep buffer)
           ─► frame_input (nearest resize to the model size) ─► Rerenderer(buffer, code) ─► RGB uint8

The deep buffer is built exactly like the capture pipeline's dataset frames (point colour quantised to
8 bits, normals through the dataset's 8-bit encoding, z-depth in SfM units), so the generator sees the same
kind of input it was trained on. Buffers are splatted at the *source* resolution (the captured frames' size,
or the bundle cameras' size) and then resized to the model's size by :func:`frame_input`, as in training.

Outputs (:func:`write_video`, :func:`write_frames`, :func:`contact_sheet`) are written atomically; videos are
H.264 yuv420p MP4 (frames cropped to even width/height) that any player opens.

Example::

    scene = load_point_scene("work")                      # dataset/ + densify/points.npz
    r = SceneRenderer(model, scene)
    cams = make_path("fly", scene.cameras, 48, width=r.source_size[0], height=r.source_size[1])
    frames = r.render(cams, codes)                        # list of (H, W, 3) uint8
    write_video(frames, "out/fly.mp4", fps=24)
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuralwrap.codecs import get_codec
from neuralwrap.errors import CheckpointError, InputError
from neuralwrap.io.atomic import atomic_write_bytes
from neuralwrap.io.images import write_image
from neuralwrap.rerender.capture.splat import splat_points
from neuralwrap.rerender.checkpoint import (
    SceneBundle,
    load_rerenderer,
    load_scene_bundle,
)
from neuralwrap.rerender.models.networks import Rerenderer
from neuralwrap.rerender.render.appearance import AppearanceContext
from neuralwrap.rerender.scene.camera import PinholeCamera
from neuralwrap.rerender.scene.dataset import (
    Frame,
    RerenderDataset,
    decode_normals,
    encode_normals,
)
from neuralwrap.rerender.scene.inputs import frame_input, photo_tensor

__all__ = [
    "PointScene",
    "RenderSource",
    "SceneRenderer",
    "appearance_context",
    "contact_sheet",
    "estimate_splat_radius",
    "is_bundle",
    "load_bundle_source",
    "load_point_scene",
    "load_render_source",
    "model_settings",
    "render_buffer",
    "render_sequence",
    "scene_from_bundle",
    "write_frames",
    "write_video",
]

log = logging.getLogger(__name__)

#: ``progress(done, total)`` callback (the CLI draws a bar)
Progress = Callable[[int, int], None]


@dataclass
class PointScene:
    """A point cloud with its registered cameras (from a capture work dir or a scene bundle)."""

    xyz: Tensor
    """``(N, 3)`` float32 world points (SfM units)."""
    rgb: Tensor
    """``(N, 3)`` float32 point colours in [0, 1]."""
    normals: Tensor | None
    """``(N, 3)`` float32 unit world normals, or None."""
    cameras: dict[str, PinholeCamera]
    """Registered cameras by photo name, in index order."""
    radius: int = 1
    """Splat half-size in pixels at the cameras' resolution (as used by the capture)."""
    dataset: RerenderDataset | None = None
    """The captured dataset (photos, transient classes), when loaded from a work dir."""

    def frame(self, name: str) -> Frame:
        """The registered dataset frame ``name`` (:class:`InputError` when the scene has no dataset)."""
        if self.dataset is None:
            raise InputError(f"photo {name!r}: this scene has no captured dataset (a bundle stores no photos)")
        return self.dataset[self.dataset.names.index(name)]


def load_point_scene(work_dir: str | os.PathLike[str], *, radius: int | None = None) -> PointScene:
    """Point cloud + cameras of a finished ``rerender capture`` (``WORK_DIR/dataset`` and ``WORK_DIR/densify``).

    ``radius=None`` recovers the capture's splat radius by re-rendering the first frame (see
    :func:`estimate_splat_radius`). Raises :class:`InputError` naming the missing file.
    """
    work = Path(work_dir)
    if not work.is_dir():
        raise InputError(f"work dir not found: {work}")
    index, points = work / "dataset" / "dataset.json", work / "densify" / "points.npz"
    for f in (index, points):
        if not f.is_file():
            raise InputError(f"{work} has no finished capture: missing {f} (run `rerender capture PHOTOS {work}`)")
    ds = RerenderDataset(work / "dataset")
    if len(ds) == 0:
        raise InputError(f"{index} lists no registered frames")
    with np.load(points) as z:
        xyz = torch.from_numpy(np.asarray(z["xyz"], np.float32))
        rgb = torch.from_numpy(np.asarray(z["rgb"])).float() / 255
        nrm = torch.from_numpy(np.asarray(z["normals"], np.float32)) if "normals" in z else None
    cams = {n: ds.camera(i) for i, n in enumerate(ds.names)}
    scene = PointScene(xyz, rgb, nrm, cams, 1, ds)
    scene.radius = estimate_splat_radius(scene, ds[0]) if radius is None else int(radius)
    return scene


def scene_from_bundle(bundle: SceneBundle) -> PointScene:
    """A :class:`PointScene` from a loaded :class:`~neuralwrap.rerender.checkpoint.SceneBundle` (no dataset)."""
    nrm = None if bundle.normals is None else torch.from_numpy(np.asarray(bundle.normals, np.float32))
    return PointScene(
        torch.from_numpy(np.asarray(bundle.points, np.float32)),
        torch.from_numpy(np.asarray(bundle.colors)).float() / 255,
        nrm,
        dict(bundle.cameras),
        int(bundle.splat_radius),
        None,
    )


def is_bundle(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a scene bundle (``scene.json`` file or a folder holding one, no ``dataset/``)."""
    p = Path(path)
    if p.is_dir():
        return (p / "scene.json").is_file() and not (p / "dataset").is_dir()
    return p.name.endswith(".json") and p.is_file() or p.with_name(p.name + ".json").is_file()


def render_buffer(
    scene: PointScene, camera: PinholeCamera, *, name: str = "view", classes: np.ndarray | None = None
) -> Frame:
    """The deep framebuffer of ``camera`` (its own ``H×W``) as a :class:`Frame`, built like the capture's frames.

    ``photo`` is all zeros (no photo exists for a novel view); ``classes`` ``(H,W)`` uint8 (or None = no
    transients) is passed through, nearest-resized to the camera size if needed.
    """
    out = splat_points(scene.xyz, scene.rgb, camera, normals=scene.normals, radius=scene.radius)
    color = (out.color.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    normals = None
    if out.normals is not None:  # through the dataset's 8-bit encoding, exactly as training read it
        normals = decode_normals(encode_normals(out.normals.permute(1, 2, 0).numpy()))
    h, w = camera.height, camera.width
    if classes is not None and classes.shape != (h, w):
        rows = np.minimum(((np.arange(h) + 0.5) * classes.shape[0] / h).astype(int), classes.shape[0] - 1)
        cols = np.minimum(((np.arange(w) + 0.5) * classes.shape[1] / w).astype(int), classes.shape[1] - 1)
        classes = classes[rows][:, cols]
    depth = out.depth[0].numpy().astype(np.float32)
    return Frame(name, camera, np.zeros((h, w, 3), np.uint8), color, depth, normals, classes)


def estimate_splat_radius(scene: PointScene, frame: Frame, radii: Sequence[int] = (1, 3, 0, 2, 4)) -> int:
    """The splat radius (pixels) whose render of ``frame.camera`` best matches the stored buffer's coverage.

    Radii are tried in order (the capture's dense / sparse defaults first); an exact match stops the search.
    """
    target = frame.depth > 0
    best, best_err = int(radii[0]), float("inf")
    for r in radii:
        hit = splat_points(scene.xyz, scene.rgb, frame.camera, radius=int(r)).mask.numpy()
        err = float(np.logical_xor(hit, target).mean())
        if err < best_err:
            best, best_err = int(r), err
        if err == 0.0:
            break
    log.info("splat radius %d px (coverage mismatch %.4f on %s)", best, best_err, frame.name)
    return best


# ------------------------------------------------------------------------------------------ generator
def model_settings(model: torch.nn.Module) -> dict[str, Any]:
    """``{"size": (w, h), "use_semantics": bool, "use_appearance": bool, "code_dim": int}`` of a Rerenderer."""
    cfg = getattr(model, "config", None)

    def get(key: str, default: Any) -> Any:
        if cfg is None:
            return default
        return cfg.get(key, default) if isinstance(cfg, dict) else getattr(cfg, key, default)

    size = get("size", None)
    if size is None and get("width", None) is not None:
        size = (get("width", 0), get("height", 0))
    return {
        "size": tuple(int(s) for s in size) if size is not None else None,
        "use_semantics": bool(get("use_semantics", True)),
        "use_appearance": bool(get("use_appearance", True)),
        "code_dim": int(get("code_dim", 8)),
    }


class SceneRenderer:
    """Splat + generator for one scene and one trained :class:`Rerenderer` (inference only, no gradients).

    ``size`` is the output ``(width, height)`` (default: the model's training size); buffers are splatted at
    ``source_size`` (the registered cameras' resolution for this aspect) and nearest-resized, as in training.
    """

    def __init__(
        self, model: torch.nn.Module, scene: PointScene, *, size: tuple[int, int] | None = None, batch_size: int = 4
    ) -> None:
        self.model = model.eval()
        self.scene = scene
        st = model_settings(model)
        self.use_semantics, self.use_appearance, self.code_dim = (
            st["use_semantics"],
            st["use_appearance"],
            st["code_dim"],
        )
        first = next(iter(scene.cameras.values()))
        self.size: tuple[int, int] = tuple(size or st["size"] or (first.width, first.height))  # type: ignore[assignment]
        self.batch_size = max(1, int(batch_size))
        scale = float(np.median([max(c.width, c.height) for c in scene.cameras.values()])) / max(self.size)
        scale = max(scale, 1.0)
        self.source_size: tuple[int, int] = (round(self.size[0] * scale), round(self.size[1] * scale))

    @property
    def device(self) -> torch.device:
        """The model's device."""
        return next(self.model.parameters()).device

    def buffer(self, frame: Frame, *, remove_transients: bool = True) -> Tensor:
        """Generator input ``(C, h, w)`` of a frame at the output size (see ``inputs.frame_input``)."""
        return frame_input(frame, size=self.size, use_semantics=self.use_semantics, remove_transients=remove_transients)

    def view_buffer(self, camera: PinholeCamera, *, classes: np.ndarray | None = None) -> Tensor:
        """Generator input ``(C, h, w)`` of an arbitrary camera (splatted at the source resolution)."""
        cam = camera.scaled(*self.source_size) if (camera.width, camera.height) != self.source_size else camera
        return self.buffer(render_buffer(self.scene, cam, classes=classes), remove_transients=classes is None)

    @torch.no_grad()
    def encode(self, photo: Tensor, buffer: Tensor) -> Tensor:
        """Appearance code ``(D,)`` of a photo ``(3,h,w)`` in [0,1] and its buffer ``(C,h,w)``."""
        dev = self.device
        return self.model.encode(photo[None].to(dev), buffer[None].to(dev))[0].float().cpu()

    @torch.no_grad()
    def generate(self, buffers: Tensor, codes: Tensor | None) -> Tensor:
        """``(B,3,h,w)`` in [0,1] from buffers ``(B,C,h,w)`` and codes ``(B,D)`` (None: model without appearance)."""
        dev = self.device
        code = codes.to(dev) if (codes is not None and self.use_appearance) else None
        return self.model(buffers.to(dev), code).clamp(0, 1).float().cpu()

    def render(
        self,
        cameras: Sequence[PinholeCamera],
        codes: Tensor | None,
        *,
        classes: np.ndarray | None = None,
        progress: Progress | None = None,
    ) -> list[np.ndarray]:
        """Rerender ``cameras`` with per-frame ``codes (N, D)``; returns ``(h, w, 3)`` uint8 frames.

        ``classes`` (a registered photo's class map) keeps its transients in every frame — only meaningful
        for a static registered viewpoint; None renders people-free (all-background) semantics.
        """
        if codes is not None and codes.shape[0] != len(cameras):
            raise InputError(f"{len(cameras)} cameras but {codes.shape[0]} appearance codes")
        out: list[np.ndarray] = []
        for s in range(0, len(cameras), self.batch_size):
            cams = cameras[s : s + self.batch_size]
            buf = torch.stack([self.view_buffer(c, classes=classes) for c in cams])
            img = self.generate(buf, None if codes is None else codes[s : s + len(cams)])
            out.extend((img.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy())
            if progress is not None:
                progress(len(out), len(cameras))
        return out

    def point_render(self, cameras: Sequence[PinholeCamera]) -> list[np.ndarray]:
        """The raw point-colour renders (the buffers' colour channels) as ``(h, w, 3)`` uint8 frames."""
        return [(self.view_buffer(c)[:3].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy() for c in cameras]


# ------------------------------------------------------------------------------------------ outputs
def _even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return frame[: h - h % 2, : w - w % 2]


def write_video(frames: Sequence[np.ndarray], path: str | os.PathLike[str], *, fps: int = 24, crf: int = 18) -> Path:
    """Write ``(H,W,3)`` uint8 frames as an H.264 yuv420p MP4 (cropped to even size), atomically."""
    if len(frames) == 0:
        raise InputError("write_video needs at least one frame")
    even = [np.ascontiguousarray(_even(f)) for f in frames]
    if min(even[0].shape[:2]) < 2:
        raise InputError(f"frames too small for a video: {frames[0].shape}")
    data = get_codec("h264").encode(even, crf=crf, fps=int(fps), pix_fmt="yuv420p", preset="medium")
    atomic_write_bytes(path, data)
    return Path(path)


def write_frames(frames: Sequence[np.ndarray], folder: str | os.PathLike[str], *, prefix: str = "frame") -> list[Path]:
    """Write frames as ``folder/<prefix>_0000.png`` … (each atomically); returns the paths."""
    root = Path(folder)
    paths = []
    for i, f in enumerate(frames):
        p = root / f"{prefix}_{i:04d}.png"
        write_image(p, f)
        paths.append(p)
    return paths


def contact_sheet(
    frames: Sequence[np.ndarray], path: str | os.PathLike[str], *, tiles: int = 12, cols: int = 4, gap: int = 2
) -> Path:
    """A PNG grid of ``tiles`` evenly spaced frames (white gaps of ``gap`` px), written atomically."""
    if len(frames) == 0:
        raise InputError("contact_sheet needs at least one frame")
    idx = np.unique(np.rint(np.linspace(0, len(frames) - 1, min(tiles, len(frames)))).astype(int))
    pick = [frames[i] for i in idx]
    h, w = pick[0].shape[:2]
    cols = min(cols, len(pick))
    rows = (len(pick) + cols - 1) // cols
    sheet = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, 3), 255, np.uint8)
    for k, f in enumerate(pick):
        r, c = divmod(k, cols)
        sheet[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = f[:h, :w]
    write_image(path, sheet)
    return Path(path)


def render_sequence(
    renderer: SceneRenderer,
    cameras: Sequence[PinholeCamera],
    codes: Tensor | None,
    out_dir: str | os.PathLike[str],
    name: str,
    *,
    fps: int = 24,
    classes: np.ndarray | None = None,
    pngs: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Render one sequence and write ``out_dir/name.mp4``, ``out_dir/name_sheet.png`` and (``pngs``)
    ``out_dir/name/frame_0000.png`` …; returns ``{video, sheet, frames_dir, frames, size, seconds}``."""
    t0 = time.perf_counter()
    frames = renderer.render(cameras, codes, classes=classes, progress=progress)
    t_render = time.perf_counter() - t0
    out = Path(out_dir)
    if pngs:
        write_frames(frames, out / name)
    video = write_video(frames, out / f"{name}.mp4", fps=fps)
    sheet = contact_sheet(frames, out / f"{name}_sheet.png")
    h, w = _even(frames[0]).shape[:2]
    return {
        "video": str(video),
        "sheet": str(sheet),
        "frames_dir": str(out / name) if pngs else None,
        "frames": len(frames),
        "size": [w, h],
        "fps": fps,
        "render_s": round(t_render, 2),
        "seconds": round(time.perf_counter() - t0, 2),
    }


@dataclass(frozen=True)
class RenderSource:
    """A trained scene ready to render (:func:`load_render_source`): the model, its point scene, and the
    appearances an ``--appearance`` spec may name besides registered photos and raw codes."""

    model: Rerenderer
    """The trained generator + appearance encoder, in eval mode on the requested device."""
    scene: PointScene
    """Point cloud and registered cameras; ``scene.dataset`` is the captured dataset (work dir) or None (bundle)."""
    codes: Mapping[str, Tensor] = field(default_factory=dict)
    """A bundle's stored appearance codes by photo name, each ``(D,)`` float32 (a unitless latent vector); empty
    for a work dir, whose registered photos are encoded when named."""
    highlights: Mapping[str, str] = field(default_factory=dict)
    """A bundle's named appearances: alias (``sunny``, ``dusk`` …) → photo name; empty for a work dir."""
    holdout: tuple[str, ...] = ()
    """Photo names held out of training (the bundle's, or those recorded with a work dir's model)."""

    @property
    def named_codes(self) -> dict[str, Tensor]:
        """:attr:`codes` plus each highlight alias of a coded photo (an alias never shadows a photo's own name)."""
        named = dict(self.codes)
        named.update({alias: named[n] for alias, n in self.highlights.items() if n in named and alias not in named})
        return named

    @property
    def without_code(self) -> tuple[str, ...]:
        """Photos with neither a stored code nor a photo to encode: a bundle's held-out photos (none for a work
        dir, whose held-out photos can still be encoded)."""
        return self.holdout if self.scene.dataset is None else ()

    def default_appearance(self, static: str | None = None) -> str:
        """The appearance used without ``--appearance``: the static viewpoint ``static``'s own photo when it has a
        code or can be encoded, else the first highlight, else the first stored code, else the first camera's photo."""
        named = self.named_codes
        if static is not None and (static in named or self.scene.dataset is not None):
            return static
        for name in list(self.highlights.values()) + list(named):
            return name
        return next(iter(self.scene.cameras))


def load_bundle_source(
    bundle_dir: str | os.PathLike[str],
    model: str | os.PathLike[str] | None = None,
    *,
    device: str = "cpu",
    radius: int | None = None,
) -> RenderSource:
    """A :class:`RenderSource` from a scene bundle folder (``scene.*`` and, unless ``model`` is given, ``model.*``).

    ``radius`` overrides the bundle's splat half-size (px at the bundle cameras' resolution). Raises
    :class:`~neuralwrap.errors.CheckpointError` naming a missing or damaged file.
    """
    bundle = load_scene_bundle(bundle_dir)
    net = load_rerenderer(model or bundle_dir, device)
    scene = scene_from_bundle(bundle)
    if radius is not None:
        scene.radius = int(radius)
    codes = {k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in bundle.codes.items()}
    return RenderSource(net, scene, codes, dict(bundle.highlights), tuple(bundle.holdout))


def load_render_source(
    source: str | os.PathLike[str],
    model: str | os.PathLike[str] | None = None,
    *,
    device: str = "cpu",
    radius: int | None = None,
) -> RenderSource:
    """The :class:`RenderSource` of a capture work dir or a scene bundle folder.

    A work dir needs a finished capture and a trained model (``model``, default ``WORK_DIR/model``); a bundle
    folder holds ``scene.*`` and (unless ``model`` is given) ``model.*`` (see :func:`load_bundle_source`).
    ``radius`` overrides the splat half-size (px; default: the capture's / the bundle's). Raises
    :class:`InputError` / :class:`~neuralwrap.errors.CheckpointError` naming the missing file.
    """
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} was requested but no CUDA GPU is available")
    src = Path(source)
    if not src.exists():
        raise InputError(f"not found: {src} (expected a capture work dir or a scene bundle folder)")
    if is_bundle(src):
        return load_bundle_source(src, model, device=device, radius=radius)
    scene = load_point_scene(src, radius=radius)
    mpath = Path(model) if model is not None else src / "model"
    try:
        net = load_rerenderer(mpath, device)
    except CheckpointError as exc:
        raise CheckpointError(
            f"{exc} (no trained model for {src}: run `rerender train {src}` or pass --model)"
        ) from exc
    extra = getattr(net, "extra", {}) or {}
    notes = getattr(net.config, "notes", {}) or {}
    return RenderSource(net, scene, holdout=tuple(extra.get("holdout") or notes.get("holdout") or []))


def appearance_context(
    renderer: SceneRenderer, codes: Mapping[str, Tensor], ref_camera: PinholeCamera, without_code: Sequence[str] = ()
) -> AppearanceContext:
    """The :class:`~neuralwrap.rerender.render.appearance.AppearanceContext` of ``renderer``'s scene: stored ``codes``
    (e.g. :attr:`RenderSource.named_codes`), registered photos of the dataset (encoder on photo + stored buffer),
    outside images (encoder on the image + the buffer of ``ref_camera``), and ``without_code`` (photos that have
    neither, e.g. :attr:`RenderSource.without_code`)."""
    scene = renderer.scene
    registered = scene.dataset.names if scene.dataset is not None else []

    def enc_registered(name: str) -> Tensor:
        frame = scene.frame(name)
        return renderer.encode(photo_tensor(frame, renderer.size), renderer.buffer(frame, remove_transients=False))

    def enc_image(img: np.ndarray) -> Tensor:
        photo = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()[None] / 255
        w, h = renderer.size
        photo = torch.nn.functional.interpolate(
            photo, size=(h, w), mode="bilinear", antialias=True, align_corners=False
        )
        return renderer.encode(photo[0].clamp(0, 1), renderer.view_buffer(ref_camera))

    has_enc = renderer.use_appearance
    return AppearanceContext(
        code_dim=renderer.code_dim,
        codes=codes,
        registered=registered,
        encode_registered=enc_registered if has_enc else None,
        encode_image=enc_image if has_enc else None,
        without_code=list(without_code),
    )
