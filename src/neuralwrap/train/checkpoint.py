"""Self-describing, pickle-free checkpoints: safetensors tensors + a JSON sidecar.

Training checkpoint ``ckpt_{step:08d}`` = two files written atomically (tensors first, JSON last,
so a JSON file marks a complete checkpoint):

* ``.safetensors``: ``model/<name>/<key>`` module weights and buffers,
  ``optim/<name>/state/<param_idx>/<key>`` optimizer state tensors,
  ``optim/<name>/group/<group_idx>/<key>`` tensor-valued hyperparameters (rare),
  ``rng/<rank>/{torch,cuda,numpy_keys}`` random generator states.
* ``.json``: ``{format_version, neuralwrap_version, kind, step, config, extra, modules,
  optimizers: {name: {param_groups, state}}, rng: {rank: {numpy, python}}, sha256}``; ``sha256``
  is the hash of the safetensors file, so corruption is detected on load.

Inference weights (:func:`save_weights`) use the same layout with ``kind="weights"`` and only
the ``model/`` part stored without prefix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import safetensors.torch
import torch
from torch import nn
from torch.optim import Optimizer

from neuralwrap import __version__
from neuralwrap.errors import CheckpointError
from neuralwrap.io.atomic import atomic_write_bytes

__all__ = [
    "FORMAT_VERSION",
    "Weights",
    "apply_state_dict",
    "capture_rng_state",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_weights",
    "read_checkpoint_meta",
    "restore_rng_state",
    "save_checkpoint",
    "save_weights",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the on-disk layout; bumped on any incompatible change."""

_CKPT_RE = re.compile(r"^ckpt_(\d{8,})\.json$")
PathLike = str | os.PathLike[str]


# ----------------------------------------------------------------------------------------- RNG
def capture_rng_state() -> dict[str, Any]:
    """This process's torch CPU (and current CUDA), numpy and python RNG states."""
    cuda = None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = torch.cuda.get_rng_state()
    return {"torch": torch.get_rng_state(), "cuda": cuda, "numpy": np.random.get_state(), "python": random.getstate()}


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def _rng_to_store(states: list[dict[str, Any]], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for rank, st in enumerate(states):
        tensors[f"rng/{rank}/torch"] = st["torch"]
        if st.get("cuda") is not None:
            tensors[f"rng/{rank}/cuda"] = st["cuda"]
        name, keys, pos, has_gauss, cached = st["numpy"]
        tensors[f"rng/{rank}/numpy_keys"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
        version, internal, gauss_next = st["python"]
        meta[str(rank)] = {
            "numpy": [name, int(pos), int(has_gauss), float(cached)],
            "python": [version, list(internal), gauss_next],
        }
    return meta


def _rng_from_store(meta: Mapping[str, Any], tensors: Mapping[str, torch.Tensor], rank: int) -> dict[str, Any]:
    if str(rank) not in meta.get("rng", {}):
        raise CheckpointError(f"checkpoint has no RNG state for rank {rank}")
    m = meta["rng"][str(rank)]
    name, pos, has_gauss, cached = m["numpy"]
    keys = tensors[f"rng/{rank}/numpy_keys"].numpy().astype(np.uint32)
    version, internal, gauss_next = m["python"]
    return {
        "torch": tensors[f"rng/{rank}/torch"],
        "cuda": tensors.get(f"rng/{rank}/cuda"),
        "numpy": (name, keys, pos, has_gauss, cached),
        "python": (version, tuple(internal), gauss_next),
    }


# --------------------------------------------------------------------------------- file helpers
def _pair(path: PathLike) -> tuple[Path, Path]:
    """``(x.safetensors, x.json)`` for a path given as either file or the common stem."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def _jsonable(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    raise CheckpointError(f"cannot store {type(value).__name__} at {where} in JSON (no pickles)")


def _write_pair(st_path: Path, json_path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write tensors then the JSON sidecar (with the tensors' sha256), each atomically: a JSON marks a complete pair."""
    plain = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    data = safetensors.torch.save(plain)
    meta = dict(meta, sha256=hashlib.sha256(data).hexdigest())
    text = json.dumps(meta, indent=1)
    atomic_write_bytes(st_path, data)
    atomic_write_bytes(json_path, text.encode())


def _read_pair(
    path: PathLike, kind: str, format_version: int = FORMAT_VERSION
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read and check a safetensors + JSON pair of ``kind`` written with ``format_version`` (sha256 verified)."""
    st_path, json_path = _pair(path)
    try:
        meta = json.loads(json_path.read_text())
        data = st_path.read_bytes()
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint file missing: {exc.filename}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"corrupt checkpoint metadata {json_path}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format_version") != format_version:
        found = meta.get("format_version") if isinstance(meta, dict) else None
        raise CheckpointError(f"{json_path}: format_version {found!r}, this neuralwrap reads {format_version}")
    if meta.get("kind") != kind:
        raise CheckpointError(f"{json_path}: is a {meta.get('kind')!r} file, expected {kind!r}")
    if meta.get("sha256") != hashlib.sha256(data).hexdigest():
        raise CheckpointError(f"{st_path}: sha256 does not match its JSON sidecar (corrupt or replaced file)")
    try:
        tensors = safetensors.torch.load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"corrupt safetensors file {st_path}: {exc}") from exc
    return meta, tensors


def apply_state_dict(
    module: nn.Module, state: Mapping[str, torch.Tensor], strict: bool = True, what: str = "module"
) -> None:
    """Load ``state`` into ``module``; raise :class:`CheckpointError` on missing/unexpected keys
    (when ``strict``) or any shape mismatch (always). With ``strict=False`` only matching keys load."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if strict and (missing or unexpected):
        raise CheckpointError(
            f"{what}: missing keys {missing[:8]}{'…' if len(missing) > 8 else ''}, "
            f"unexpected keys {unexpected[:8]}{'…' if len(unexpected) > 8 else ''}"
        )
    bad = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if bad:
        raise CheckpointError(f"{what}: shape mismatch: " + "; ".join(bad[:8]))
    try:
        module.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=strict)
    except RuntimeError as exc:
        raise CheckpointError(f"{what}: {exc}") from exc


# ---------------------------------------------------------------------------------- optimizers
def _flatten_optimizer(name: str, opt: Optimizer, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    sd = opt.state_dict()
    state_meta: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"optim/{name}/state/{idx}/{key}"] = val
            else:
                state_meta.setdefault(str(idx), {})[key] = _jsonable(val, f"optim/{name}/state/{idx}/{key}")
    groups = []
    for gi, group in enumerate(sd["param_groups"]):
        g: dict[str, Any] = {}
        for key, val in group.items():
            if torch.is_tensor(val):
                tensors[f"optim/{name}/group/{gi}/{key}"] = val
                g[key] = {"__tensor__": True}
            else:
                g[key] = _jsonable(val, f"optim/{name}/param_groups/{gi}/{key}")
        groups.append(g)
    return {"class": type(opt).__name__, "param_groups": groups, "state": state_meta}


def _unflatten_optimizer(
    name: str, opt: Optimizer, ometa: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]
) -> None:
    if ometa.get("class") != type(opt).__name__:
        raise CheckpointError(f"optimizer {name!r}: checkpoint has {ometa.get('class')}, got {type(opt).__name__}")
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim/{name}/state/"
    for key, val in tensors.items():
        if key.startswith(prefix):
            idx, sub = key[len(prefix) :].split("/", 1)
            state.setdefault(int(idx), {})[sub] = val
    for idx, scalars in ometa["state"].items():
        state.setdefault(int(idx), {}).update(scalars)
    current = opt.param_groups
    groups = []
    for gi, g in enumerate(ometa["param_groups"]):
        group = {}
        for key, val in g.items():
            if isinstance(val, dict) and val.get("__tensor__"):
                val = tensors[f"optim/{name}/group/{gi}/{key}"]
            elif isinstance(val, list) and gi < len(current) and isinstance(current[gi].get(key), tuple):
                val = tuple(val)
            group[key] = val
        groups.append(group)
    try:
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"optimizer {name!r}: {exc}") from exc


# --------------------------------------------------------------------------- training ckpts
def save_checkpoint(
    directory: PathLike,
    step: int,
    modules: Mapping[str, nn.Module],
    optimizers: Mapping[str, Optimizer] | None = None,
    config: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    *,
    rng_states: list[dict[str, Any]] | None = None,
    keep: int | None = None,
) -> Path:
    """Write ``directory/ckpt_{step:08d}.{safetensors,json}`` atomically; return the safetensors path.

    Args:
        directory: output folder (created if needed).
        step: number of optimizer steps done.
        modules: name → module (pass unwrapped modules, not DDP); names must not contain ``/``.
        optimizers: name → optimizer; its state tensors go to safetensors, the rest to JSON.
        config, extra: JSON-serialisable dicts stored as is.
        rng_states: one :func:`capture_rng_state` dict per rank (index = rank); default: this process's.
        keep: if given, delete all but the newest ``keep`` checkpoints in ``directory`` afterwards.
    """
    tensors: dict[str, torch.Tensor] = {}
    for name, mod in modules.items():
        if "/" in name:
            raise CheckpointError(f"module name {name!r} must not contain '/'")
        for key, val in mod.state_dict().items():
            tensors[f"model/{name}/{key}"] = val
    optim_meta = {name: _flatten_optimizer(name, opt, tensors) for name, opt in (optimizers or {}).items()}
    rng_meta = _rng_to_store(rng_states if rng_states is not None else [capture_rng_state()], tensors)
    meta = {
        "format_version": FORMAT_VERSION,
        "neuralwrap_version": __version__,
        "torch_version": torch.__version__,
        "kind": "checkpoint",
        "step": int(step),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": _jsonable(dict(config or {}), "config"),
        "extra": _jsonable(dict(extra or {}), "extra"),
        "modules": sorted(modules),
        "optimizers": optim_meta,
        "rng": rng_meta,
    }
    st_path, json_path = _pair(Path(directory) / f"ckpt_{int(step):08d}")
    _write_pair(st_path, json_path, tensors, meta)
    log.info("saved checkpoint %s", st_path)
    if keep is not None:
        _prune(Path(directory), keep)
    return st_path


def list_checkpoints(directory: PathLike) -> list[tuple[int, Path]]:
    """Complete checkpoints in ``directory`` as ``(step, safetensors path)``, oldest first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = []
    for p in d.iterdir():
        m = _CKPT_RE.match(p.name)
        if m and p.with_suffix(".safetensors").exists():
            found.append((int(m.group(1)), p.with_suffix(".safetensors")))
    return sorted(found)


def latest_checkpoint(directory: PathLike) -> Path | None:
    """Safetensors path of the newest complete checkpoint in ``directory``, or ``None``."""
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def _prune(directory: Path, keep: int) -> None:
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    for _, st_path in list_checkpoints(directory)[:-keep]:
        st_path.with_suffix(".json").unlink(missing_ok=True)  # JSON first: never a JSON without tensors
        st_path.unlink(missing_ok=True)


def load_checkpoint(
    path: PathLike,
    modules: Mapping[str, nn.Module],
    optimizers: Mapping[str, Optimizer] | None = None,
    strict: bool = True,
    *,
    restore_rng: bool = False,
    rank: int = 0,
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``modules`` and ``optimizers``.

    ``path`` may be the ``.safetensors`` file, the ``.json`` file or their common stem. Every
    requested module/optimizer must be present. Raises :class:`CheckpointError` on a missing
    file, corrupt data (sha256 / parse), wrong ``format_version``, missing or unexpected keys
    (``strict``), shape mismatch, or optimizer mismatch. With ``restore_rng`` the RNG state saved
    for ``rank`` is restored. Returns the JSON metadata (``step``, ``config``, ``extra``, …).
    """
    meta, tensors = _read_pair(path, "checkpoint")
    for name, mod in modules.items():
        if name not in meta["modules"]:
            raise CheckpointError(f"{path}: no module {name!r} (has {meta['modules']})")
        prefix = f"model/{name}/"
        apply_state_dict(mod, {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}, strict, name)
    for name, opt in (optimizers or {}).items():
        if name not in meta["optimizers"]:
            raise CheckpointError(f"{path}: no optimizer {name!r} (has {sorted(meta['optimizers'])})")
        _unflatten_optimizer(name, opt, meta["optimizers"][name], tensors)
    if restore_rng:
        restore_rng_state(_rng_from_store(meta, tensors, rank))
    return meta


# ------------------------------------------------------------------------------ inference weights
class Weights(NamedTuple):
    """Result of :func:`load_weights`."""

    state_dict: dict[str, torch.Tensor]
    """Tensor name → tensor (CPU)."""
    config: dict[str, Any]
    """The architecture config given to :func:`save_weights` (build the model from it)."""
    meta: dict[str, Any]
    """The full JSON sidecar."""


def save_weights(path: PathLike, module: nn.Module, config: Mapping[str, Any]) -> Path:
    """Write inference weights ``<stem>.safetensors`` + ``<stem>.json`` (``format_version``, ``config``,
    ``sha256``, parameter count); return the safetensors path. Use for shipped pretrained models."""
    st_path, json_path = _pair(path)
    meta = {
        "format_version": FORMAT_VERSION,
        "neuralwrap_version": __version__,
        "kind": "weights",
        "config": _jsonable(dict(config), "config"),
        "num_parameters": sum(p.numel() for p in module.parameters()),
    }
    _write_pair(st_path, json_path, dict(module.state_dict()), meta)
    return st_path


def load_weights(path: PathLike) -> Weights:
    """Read a :func:`save_weights` file pair; raises :class:`CheckpointError` if missing/corrupt/wrong version.

    Load into a model built from ``weights.config`` with :func:`apply_state_dict` (strict).
    """
    meta, tensors = _read_pair(path, "weights")
    return Weights(state_dict=tensors, config=meta["config"], meta=meta)


def read_checkpoint_meta(path: PathLike) -> dict[str, Any]:
    """The JSON sidecar of a checkpoint or weights file, without reading or verifying the tensors."""
    _, json_path = _pair(path)
    try:
        meta = json.loads(json_path.read_text())
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint file missing: {json_path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"corrupt checkpoint metadata {json_path}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{json_path}: unsupported format_version, this neuralwrap reads {FORMAT_VERSION}")
    return meta
