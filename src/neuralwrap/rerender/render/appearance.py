"""``--appearance`` specifications → one latent appearance code per rendered frame.

A spec is one of:

* ``PHOTO`` — a registered photo name (``photo_007.png`` or its stem ``photo_007``) or an image file path;
  the appearance encoder sees the photo and a deep buffer (its own stored buffer for a registered photo;
  for an outside image, the buffer of the render viewpoint, see :class:`AppearanceContext`);
* ``CODE`` — 8 comma-separated floats (``"0.1,-0.3,…"``), a ``.json`` file holding such a list (or
  ``{"code": [...]}``), or the name of a code stored in a scene bundle;
* ``interp:A,B`` — linear interpolation from A to B over the frames (A and B are PHOTO/CODE tokens;
  separate raw vectors with ``;`` instead: ``interp:0,0,…;1,1,…``). More than two tokens give a
  piecewise-linear sweep through all of them; the first and last frames equal the first and last codes.

Codes are ``(D,)`` float32 tensors (D = 8 for the paper's model). Errors are :class:`InputError` that say
what was expected and list a few valid names.

Example::

    ctx = AppearanceContext(codes={"sunny": torch.ones(8), "dusk": -torch.ones(8)}, code_dim=8)
    codes = appearance_schedule("interp:sunny,dusk", 24, ctx)            # (24, 8)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from neuralwrap.errors import InputError
from neuralwrap.io.images import read_image

__all__ = ["AppearanceContext", "appearance_schedule", "interpolate_codes", "parse_code", "resolve_appearance"]

_NUM = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


@dataclass(frozen=True)
class AppearanceContext:
    """What a spec may refer to: stored codes, registered photos and the encoder (built for a scene by
    :func:`~neuralwrap.rerender.render.frames.appearance_context`)."""

    code_dim: int = 8
    """Length ``D`` of an appearance code (a unitless latent vector)."""
    codes: Mapping[str, Tensor] = field(default_factory=dict)
    """Named codes ``{name: (D,) float32}``: a scene bundle's per-photo codes and its highlight aliases."""
    registered: Sequence[str] = ()
    """Registered photo names whose photo + deep buffer can be encoded (a capture work dir's dataset)."""
    encode_registered: Callable[[str], Tensor] | None = None
    """``name -> (D,)`` code of a registered photo (encoder on photo + its stored buffer); None: no encoder."""
    encode_image: Callable[[np.ndarray], Tensor] | None = None
    """``(H,W,3) uint8 photo -> (D,)`` code for an outside image (paired with the render viewpoint's buffer);
    None: no encoder."""
    without_code: Sequence[str] = ()
    """Registered photos with no stored code and no photo to encode (a bundle's held-out photos)."""


def _few(names: Sequence[str], k: int = 5) -> str:
    names = list(names)
    return ", ".join(names[:k]) + (", …" if len(names) > k else "") if names else "none"


def _check_code(values: Sequence[float], dim: int, what: str) -> Tensor:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != dim:
        raise InputError(f"malformed appearance code {what}: expected {dim} numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"malformed appearance code {what}: values must be finite")
    return torch.tensor(arr, dtype=torch.float32)


def parse_code(text: str, dim: int = 8) -> Tensor:
    """``(dim,)`` code from ``"v1,v2,…"`` or a ``.json`` file (a list of ``dim`` numbers or ``{"code": [...]}``)."""
    if text.strip().lower().endswith(".json"):
        path = Path(text.strip())
        if not path.is_file():
            raise InputError(f"appearance code file not found: {path}")
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"malformed appearance code file {path}: {exc}") from exc
        vals = doc.get("code") if isinstance(doc, dict) else doc
        if not isinstance(vals, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            raise InputError(
                f'malformed appearance code file {path}: expected a list of {dim} numbers or {{"code": [...]}}'
            )
        return _check_code(vals, dim, str(path))
    parts = text.split(",")
    if not all(_NUM.match(p) for p in parts):
        raise InputError(f"malformed appearance code {text!r}: expected {dim} comma-separated numbers")
    return _check_code([float(p) for p in parts], dim, repr(text))


def _looks_numeric(token: str) -> bool:
    parts = token.split(",")
    return any(_NUM.match(p) for p in parts) and (len(parts) > 1 or bool(_NUM.match(token)))


def _lookup(token: str, names: Sequence[str] | Mapping[str, object]) -> str | None:
    names = list(names)
    if token in names:
        return token
    stems = {n.rsplit(".", 1)[0]: n for n in names}
    return stems.get(token)


def resolve_appearance(token: str, ctx: AppearanceContext) -> Tensor:
    """One PHOTO or CODE token → ``(D,)`` float32 code (see the module doc for the accepted forms)."""
    token = token.strip()
    if not token:
        raise InputError("empty appearance specification")
    if (name := _lookup(token, ctx.codes)) is not None:
        return _check_code(torch.as_tensor(ctx.codes[name]).flatten().tolist(), ctx.code_dim, f"{name!r} of the bundle")
    if (name := _lookup(token, ctx.registered)) is not None and ctx.encode_registered is not None:
        return _check_code(ctx.encode_registered(name).flatten().tolist(), ctx.code_dim, f"encoded from {name}")
    if token.lower().endswith(".json") or _looks_numeric(token):
        return parse_code(token, ctx.code_dim)
    path = Path(token)
    if path.suffix.lower() in _IMAGE_SUFFIXES and path.is_file():
        if ctx.encode_image is None:
            raise InputError(f"cannot encode photo {path}: this model/bundle has no appearance encoder")
        return _check_code(ctx.encode_image(read_image(path, mode="RGB")).flatten().tolist(), ctx.code_dim, str(path))
    known = list(ctx.codes) or list(ctx.registered)
    if (name := _lookup(token, ctx.without_code)) is not None:
        raise InputError(
            f"photo {name} was held out of training: no appearance code is stored for it "
            f"(use one of {len(known)} others, e.g. {_few(known)}, or its image file)"
        )
    raise InputError(
        f"unknown appearance {token!r}: not {ctx.code_dim} comma-separated numbers, a .json code file, "
        f"an image file, nor a known photo/code name ({len(known)} known, e.g. {_few(known)})"
    )


def interpolate_codes(keys: Sequence[Tensor], num_frames: int) -> Tensor:
    """``(num_frames, D)`` piecewise-linear sweep through ``keys`` (evenly spaced; ends = first/last key)."""
    if len(keys) == 0 or num_frames < 1:
        raise InputError(f"interpolate_codes needs >= 1 key and >= 1 frame, got {len(keys)}, {num_frames}")
    k = torch.stack([torch.as_tensor(c, dtype=torch.float32).flatten() for c in keys])
    if len(keys) == 1 or num_frames == 1:
        return k[:1].expand(num_frames, -1).clone()
    pos = torch.linspace(0, len(keys) - 1, num_frames, dtype=torch.float64)
    i = pos.floor().long().clamp_max(len(keys) - 2)
    w = (pos - i).float()[:, None]
    out = k[i] * (1 - w) + k[i + 1] * w
    out[0], out[-1] = k[0], k[-1]  # exact ends
    return out


def _split_interp(body: str) -> list[str]:
    if ";" in body:
        return body.split(";")
    parts = body.split(",")
    if sum(bool(_NUM.match(p)) for p in parts) > 1:
        raise InputError(f"interp:{body}: separate raw code vectors with ';' (e.g. interp:0,…,0;1,…,1)")
    return parts


def appearance_schedule(spec: str, num_frames: int, ctx: AppearanceContext) -> Tensor:
    """``(num_frames, D)`` codes for ``spec``: a constant code, or ``interp:A,B[,…]`` (linear over the frames)."""
    if num_frames < 1:
        raise InputError(f"num_frames must be >= 1, got {num_frames}")
    if spec.startswith("interp:"):
        tokens = _split_interp(spec[len("interp:") :])
        if len(tokens) < 2 or any(not t.strip() for t in tokens):
            raise InputError(f"{spec!r}: interp needs at least two appearances, e.g. interp:photo_a,photo_b")
        return interpolate_codes([resolve_appearance(t, ctx) for t in tokens], num_frames)
    code = resolve_appearance(spec, ctx)
    return code[None].expand(num_frames, -1).clone()
