"""Structure from motion with pycolmap: SIFT → pair selection and matching → incremental or global (GLOMAP) mapping
→ undistortion. Pair selection and mapper are chosen by collection size unless named (:func:`choose_matching`,
:func:`choose_mapper`).

All outputs go to the folder the caller gives (the capture pipeline hands in a temporary folder and
renames it on success, so a failed run leaves nothing half-written).

Example::

    result = run_sfm(photos_dir, ["a.jpg", "b.jpg", "c.jpg"], work / "sfm.tmp")
    print(result.registered_fraction, result.mean_reprojection_error)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuralwrap.errors import InputError, NeuralwrapError
from neuralwrap.rerender.capture.pairs import choose_pairs, match_pairs
from neuralwrap.rerender.scene.camera import PinholeCamera

__all__ = [
    "SfmOptions",
    "SfmResult",
    "SparseModel",
    "MAPPERS",
    "choose_mapper",
    "choose_matching",
    "load_sparse",
    "quiet_colmap_logs",
    "run_sfm",
    "undistort",
]

log = logging.getLogger(__name__)

#: ``--mapper`` values (``auto`` picks by collection size, see :func:`choose_mapper`)
MAPPERS: tuple[str, ...] = ("auto", "incremental", "global")


@dataclass
class SfmOptions:
    """Settings of :func:`run_sfm` (plain values, serialised to the step's JSON marker)."""

    max_image_size: int = 1600
    """Photos are downscaled so their longer side is at most this (px) for SIFT."""
    max_num_features: int = 8192
    """SIFT features kept per photo."""
    pairs: str = "auto"
    """Pair selection: ``exhaustive`` (all pairs), ``retrieval`` (each photo with its ``retrieval_neighbours``
    most similar, vocabulary built from the collection), ``sequential`` (neighbours in file-name order, for
    videos and ordered sequences) or ``auto`` (exhaustive up to ``exhaustive_limit`` photos, else retrieval)."""
    mapper: str = "auto"
    """``incremental`` (COLMAP, with relaxed retries), ``global`` (GLOMAP: rotation averaging + global
    positioning, one bundle adjustment) or ``auto`` (incremental up to ``incremental_limit`` photos, else global)."""
    exhaustive_limit: int = 60
    """``pairs="auto"``: collections of at most this many photos are matched exhaustively."""
    incremental_limit: int = 400
    """``mapper="auto"``: collections of at most this many photos are mapped incrementally."""
    retrieval_neighbours: int = 20
    """Most similar photos matched per photo by retrieval."""
    sequential_overlap: int = 15
    """Neighbours (in file-name order) matched per photo by the sequential matcher."""
    camera_model: str = "SIMPLE_RADIAL"
    """COLMAP camera model of the input photos (undistortion turns it into PINHOLE)."""
    single_camera: bool = False
    """Share one camera among all photos (a calibrated sequence) instead of one per photo size/EXIF."""
    min_registered: int = 3
    """Fewer registered photos than this is an error."""
    init_min_num_inliers: int = 50
    """Inliers needed by the initial pair (COLMAP's default 100 is too strict for small photos)."""
    init_min_tri_angle: float = 4.0
    """Minimum triangulation angle (degrees) of the initial pair in the relaxed trials (COLMAP: 16; internet
    photos of a distant landmark rarely reach 16: Sacré-Cœur registered 3 / 7 with it, 7 / 7 with 4)."""
    abs_pose_min_num_inliers: int = 15
    """2D–3D inliers needed to register a further photo in the relaxed trials (COLMAP: 30)."""
    keep_two_view_tracks: bool = True
    """Relaxed trials also triangulate points seen by only two photos (more points for small collections)."""
    num_threads: int = -1
    """CPU threads for pycolmap (-1 = all)."""
    seed: int = 0
    """Random seed of the mapper (RANSAC). Multi-threaded matching/mapping is still not bit-repeatable."""
    mapping_trials: int = 3
    """Incremental mapping runs first with COLMAP's strict defaults; while some photos stay unregistered it is
    retried with the relaxed settings below (seeds ``seed+1, …``). The model registering most photos wins
    (strict first because relaxed registration accepts weaker poses: one end-of-arc synthetic photo got 5°)."""


@dataclass
class SfmResult:
    """Summary of one SfM run (plain JSON)."""

    total: int
    """Photos given."""
    registered: list[str]
    """Names of the registered photos (in the chosen model)."""
    unregistered: list[str]
    """Names of the photos left out."""
    num_points: int
    """3-D points in the chosen model."""
    mean_reprojection_error: float
    """Mean reprojection error of the model, pixels (at SIFT resolution)."""
    matching: str
    """Pair selection that ran: ``"exhaustive"``, ``"retrieval"`` or ``"sequential"``."""
    num_models: int
    """Separate models found (more than one suggests unrelated groups of photos)."""
    mapper: str = "incremental"
    """Mapper that ran: ``"incremental"`` or ``"global"``."""
    matched_pairs: int = 0
    """Photo pairs matched (O(n²) for exhaustive, O(n·k) for retrieval)."""
    verified_pairs: int = 0
    """Pairs with a verified two-view geometry."""

    @property
    def registered_fraction(self) -> float:
        """Registered / total in [0, 1]."""
        return len(self.registered) / max(self.total, 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary."""
        return asdict(self)


@dataclass
class SparseModel:
    """A reconstruction read back into numpy: cameras per photo and the 3-D points."""

    cameras: dict[str, PinholeCamera]
    """Photo name → undistorted pinhole camera."""
    xyz: np.ndarray
    """``(N, 3)`` float64 point positions (SfM units)."""
    rgb: np.ndarray
    """``(N, 3)`` uint8 point colours."""
    visible: dict[str, np.ndarray] = field(default_factory=dict)
    """Photo name → indices into ``xyz`` of the points it observes."""


def choose_matching(num_photos: int, options: SfmOptions) -> str:
    """Pair selection for ``num_photos``: ``options.pairs``, or for ``auto`` ``"exhaustive"`` up to
    ``options.exhaustive_limit`` photos and ``"retrieval"`` above. Unknown names raise :class:`InputError`."""
    return choose_pairs(options.pairs, num_photos, options.exhaustive_limit)


def choose_mapper(num_photos: int, options: SfmOptions) -> str:
    """Mapper for ``num_photos``: ``options.mapper``, or for ``auto`` ``"incremental"`` up to
    ``options.incremental_limit`` photos and ``"global"`` above. Unknown names raise :class:`InputError`."""
    if options.mapper not in MAPPERS:
        raise InputError(f"unknown mapper {options.mapper!r}; choose one of {', '.join(MAPPERS)}")
    if options.mapper != "auto":
        return options.mapper
    return "incremental" if num_photos <= options.incremental_limit else "global"


def _pycolmap() -> Any:
    try:
        import pycolmap
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise NeuralwrapError("pycolmap is not installed: pip install pycolmap") from exc
    return pycolmap


def quiet_colmap_logs() -> None:
    """Hide COLMAP's per-step INFO log lines (``rerender capture`` draws progress bars instead)."""
    with contextlib.suppress(NeuralwrapError, AttributeError):
        _pycolmap().logging.minloglevel = 2


def _extract(pc: Any, db: Path, image_dir: Path, names: list[str], o: SfmOptions) -> None:
    reader = pc.ImageReaderOptions()
    reader.camera_model = o.camera_model
    extraction = pc.FeatureExtractionOptions()
    extraction.max_image_size = o.max_image_size
    extraction.num_threads = o.num_threads
    extraction.sift.max_num_features = o.max_num_features
    mode = pc.CameraMode.SINGLE if o.single_camera else pc.CameraMode.AUTO
    pc.extract_features(
        db,
        image_dir,
        image_names=names,
        camera_mode=mode,
        reader_options=reader,
        extraction_options=extraction,
        device=pc.Device.cpu,
    )


def _map(pc: Any, db: Path, image_dir: Path, out: Path, o: SfmOptions, seed: int, relaxed: bool) -> dict[int, Any]:
    opts = pc.IncrementalPipelineOptions()
    opts.min_model_size = min(3, o.min_registered)
    opts.num_threads = o.num_threads
    opts.random_seed = seed
    opts.mapper.random_seed = seed
    opts.triangulation.random_seed = seed
    opts.mapper.init_min_num_inliers = o.init_min_num_inliers
    if relaxed:
        opts.mapper.init_min_tri_angle = o.init_min_tri_angle
        opts.mapper.abs_pose_min_num_inliers = o.abs_pose_min_num_inliers
        opts.triangulation.ignore_two_view_tracks = not o.keep_two_view_tracks
    out.mkdir(parents=True, exist_ok=True)
    return pc.incremental_mapping(db, image_dir, out, options=opts)


def run_sfm(
    image_dir: str | os.PathLike[str],
    names: list[str],
    out_dir: str | os.PathLike[str],
    options: SfmOptions | None = None,
) -> SfmResult:
    """Run SfM on ``names`` (files in ``image_dir``); write ``out_dir/database.db`` and ``out_dir/sparse/``.

    The largest model is kept. Raises :class:`InputError` when fewer than ``options.min_registered``
    photos register (too little overlap, or photos of unrelated scenes).
    """
    o = options or SfmOptions()
    how, mapper = choose_matching(len(names), o), choose_mapper(len(names), o)
    pc = _pycolmap()
    pc.set_random_seed(o.seed)
    image_dir, out = Path(image_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "database.db"
    if db.exists():
        db.unlink()
    log.info("SfM on %d photos: SIFT extraction", len(names))
    _extract(pc, db, image_dir, list(names), o)
    log.info("SfM: %s matching", how)
    stats = match_pairs(
        pc,
        db,
        how,
        work=out,
        neighbours=o.retrieval_neighbours,
        sequential_overlap=o.sequential_overlap,
        num_threads=o.num_threads,
        seed=o.seed,
    )
    best: dict[int, Any] = {}
    with _colmap_errors_hidden(pc):
        if mapper == "global":
            log.info("SfM: global mapping")
            best = _map_global(pc, db, image_dir, out / "models0", o)
        else:
            for trial in range(max(1, o.mapping_trials)):
                log.info("SfM: incremental mapping (trial %d, %s)", trial + 1, "relaxed" if trial else "strict")
                models = _map(pc, db, image_dir, out / f"models{trial}", o, o.seed + trial, relaxed=trial > 0)
                if _num_reg(models) > _num_reg(best):
                    best = models
                if _num_reg(best) == len(names):
                    break
    result = _pick_model(best, names, out, how, o)
    result.mapper, result.matched_pairs, result.verified_pairs = mapper, stats["pairs"], stats["verified"]
    return result


def _map_global(pc: Any, db: Path, image_dir: Path, out: Path, o: SfmOptions) -> dict[int, Any]:
    """GLOMAP: view-graph calibration, rotation averaging, global positioning, bundle adjustment, retriangulation."""
    opts = pc.GlobalPipelineOptions()
    opts.min_model_size = min(3, o.min_registered)
    opts.num_threads = o.num_threads
    opts.random_seed = o.seed
    opts.mapper.random_seed = o.seed
    opts.mapper.num_threads = o.num_threads
    out.mkdir(parents=True, exist_ok=True)
    return pc.global_mapping(db, image_dir, out, options=opts)


@contextlib.contextmanager
def _colmap_errors_hidden(pc: Any) -> Iterator[None]:
    """Hide COLMAP's own ERROR log lines while mapping (e.g. "Failed to create any sparse model"): a failed
    mapping becomes one :class:`InputError` in :func:`_pick_model`. Shown when this module logs at INFO (-v)."""
    if log.isEnabledFor(logging.INFO):
        yield
        return
    old = pc.logging.minloglevel
    pc.logging.minloglevel = max(old, 3)
    try:
        yield
    finally:
        pc.logging.minloglevel = old


def _num_reg(models: dict[int, Any]) -> int:
    return max((r.num_reg_images() for r in models.values()), default=0)


def _pick_model(models: dict[int, Any], names: list[str], out: Path, how: str, o: SfmOptions) -> SfmResult:
    best = max(models.values(), key=lambda r: r.num_reg_images(), default=None)
    nreg = 0 if best is None else best.num_reg_images()
    if nreg < o.min_registered:
        sizes = sorted((r.num_reg_images() for r in models.values()), reverse=True)
        raise InputError(
            f"only {nreg} of {len(names)} photos could be registered (need at least {o.min_registered}); "
            f"models found: {sizes or 'none'}. The photos may show unrelated scenes, overlap too little, "
            "or have too little texture."
        )
    reg = sorted(best.image(i).name for i in best.reg_image_ids())
    unreg = sorted(set(names) - set(reg))
    if unreg:
        log.warning("%d photos were not registered (unrelated or too different): %s", len(unreg), ", ".join(unreg[:20]))
    (out / "sparse").mkdir(parents=True, exist_ok=True)
    best.write(out / "sparse")
    return SfmResult(
        len(names), reg, unreg, best.num_points3D(), float(best.compute_mean_reprojection_error()), how, len(models)
    )


def undistort(
    image_dir: str | os.PathLike[str],
    sparse_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    max_image_size: int = 1024,
) -> None:
    """Undistort the registered photos into ``out_dir/images`` and a PINHOLE model in ``out_dir/sparse``.

    ``max_image_size`` bounds the longer side (px) of the undistorted photos (the dataset resolution).
    """
    pc = _pycolmap()
    opts = pc.UndistortCameraOptions()
    opts.max_image_size = max_image_size
    pc.undistort_images(Path(out_dir), Path(sparse_dir), Path(image_dir), undistort_options=opts)


def load_sparse(sparse_dir: str | os.PathLike[str]) -> SparseModel:
    """Read a COLMAP model (PINHOLE or SIMPLE_PINHOLE cameras) into a :class:`SparseModel`."""
    pc = _pycolmap()
    rec = pc.Reconstruction(Path(sparse_dir))
    ids = list(rec.point3D_ids())
    index = {pid: k for k, pid in enumerate(ids)}
    xyz = np.array([rec.point3D(p).xyz for p in ids], dtype=np.float64).reshape(-1, 3)
    rgb = np.array([rec.point3D(p).color for p in ids], dtype=np.uint8).reshape(-1, 3)
    cams, visible = {}, {}
    for iid in rec.reg_image_ids():
        img = rec.image(iid)
        cams[img.name] = _pinhole(img)
        pts = [index[p.point3D_id] for p in img.points2D if p.has_point3D()]
        visible[img.name] = np.asarray(pts, dtype=np.int64)
    return SparseModel(cams, xyz, rgb, visible)


def _pinhole(img: Any) -> PinholeCamera:
    cam = img.camera
    if cam.model_name not in ("PINHOLE", "SIMPLE_PINHOLE"):
        raise InputError(f"expected an undistorted (PINHOLE) model, camera of {img.name} is {cam.model_name}")
    pose = img.cam_from_world()
    return PinholeCamera(
        int(cam.width),
        int(cam.height),
        float(cam.focal_length_x),
        float(cam.focal_length_y),
        float(cam.principal_point_x),
        float(cam.principal_point_y),
        np.asarray(pose.rotation.matrix(), dtype=np.float64),
        np.asarray(pose.translation, dtype=np.float64),
    )
