"""Applications of the sandwich: named presets that drive ``sandwich train --app`` and ``sandwich eval --app``.

An application says what the source representation is (its training and test data), which codec
setting carries it (a :class:`SandwichConfig`: codec, subsampling, channels, ``scale``), what
distortion training minimises, and which non-learned (or separately learned) baselines it is judged
against at equal real bitrate. The ``anchor`` baseline is the app's "plain codec": its RD curve,
measured with the real codec on training crops, defines the exchange rate ``λ(q) = −dD/dbpp`` used in
training, and evaluation reports BD-rate / BD-PSNR against it::

    app.train_data ──► sandwich train (λ(q) from app.baselines[app.anchor], D = DISTORTIONS[app.distortion])
    app.eval_data  ──► sandwich eval  (model + every baseline, real bytes) ──► records.csv, summary.json,
                                                                              rd.png, comparison.png

The built-in apps live in their own modules, each listing them in a tuple ``APPS``; :data:`APP_MODULES` is the
one explicit table of those modules, read on first use by :func:`get_app` / :func:`list_apps` (nothing registers
itself on import). A user adds an app of their own with :func:`register_app`.

Example::

    spec = get_app("rgb-over-gray")
    data, recon = spec.baselines[spec.anchor](image, 50)   # image: HxWxC float32 in [0, 1]
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from neuralwrap.errors import InputError
from neuralwrap.sandwich.config import SandwichConfig, SandwichTrainConfig

if TYPE_CHECKING:  # pragma: no cover
    import torch.utils.data

__all__ = ["APP_MODULES", "AppRoundtrip", "AppSpec", "get_app", "list_apps", "register_app", "unregister_app"]

#: ``roundtrip(image HxWxC float32 [0,1], quality) -> (real bytes, reconstruction HxWxC float [0,1])``
AppRoundtrip = Callable[[np.ndarray, int], tuple[bytes, np.ndarray]]

#: the modules whose ``APPS`` tuples are the built-in apps
APP_MODULES: tuple[str, ...] = (
    "neuralwrap.sandwich.apps.builtin",
    "neuralwrap.sandwich.apps.hdr",
    "neuralwrap.sandwich.apps.perceptual",
    "neuralwrap.sandwich.apps.multichannel",
)

_BUILTIN: dict[str, AppSpec] = {}
_USER: dict[str, AppSpec] = {}


@dataclass(frozen=True)
class AppSpec:
    """One application of the sandwich (a ``--app`` preset)."""

    name: str
    """CLI name, e.g. ``"rgb-over-gray"``."""
    summary: str
    """One line for ``sandwich eval --app`` listings and ``sandwich models``."""
    config: SandwichConfig
    """Codec, subsampling, in/code/out channels, ``scale`` and processor sizes of the app's sandwich."""
    train_data: Callable[[SandwichTrainConfig, int], torch.utils.data.Dataset]
    """``(train cfg, seed) -> dataset`` of ``(in_ch, crop, crop)`` float32 samples in [0,1] (the app's
    source representation; ``cfg.data`` is the folder, ``cfg.crop`` the crop size)."""
    eval_data: Callable[[str | None], list[tuple[str, np.ndarray]]]
    """``data dir or None -> [(name, HxWxC float32 [0,1])]`` test images (None: the app's default set)."""
    distortion: str = "mse"
    """Key of :data:`neuralwrap.sandwich.losses.DISTORTIONS` minimised in training."""
    baselines: Mapping[str, AppRoundtrip] = field(default_factory=lambda: MappingProxyType({}))
    """name -> ``roundtrip(image, quality) -> (real bytes, reconstruction)`` (image and reconstruction
    ``HxWxC`` float [0,1] in the app's representation)."""
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Extra eval metrics ``(reference, reconstruction) -> value``; PSNR on the representation is always computed."""
    anchor: str | None = None
    """Baseline whose RD curve defines λ(q) in training and the BD reference in eval (the app's "plain codec")."""
    qualities: tuple[int, ...] = (10, 20, 30, 50, 70, 90)
    """Default qualities of ``sandwich eval --app``."""
    comparison_bpp: float = 0.4
    """Rate (bpp of the original) at which the side-by-side picture is taken."""
    output_bits: int = 8
    """Reconstructions (model and baselines) are rounded to this many bits before metrics (0 = keep float)."""
    codec_settings: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    """Extra settings of the real codec for the model's code image (e.g. ``{"optimize": True}``)."""
    trainable: bool = True
    """False for evaluation-only variants (e.g. a JPEG-trained app run over HEIF)."""
    anchor_reference: Callable[[np.ndarray], np.ndarray] | None = None
    """What the anchor baseline reconstructs when its codec is lossless (e.g. the replicated luma for a
    grayscale anchor), ``HxWxC`` float [0,1] → same; transfer conditioning matches the codec damage
    against it (PSNR against the original is nearly flat for such anchors). None = the original."""
    transfer_from: str | None = None
    """For an evaluation-only variant over another codec: the app whose models it evaluates. Those
    models are told the quality of their own codec whose anchor distortion on training crops matches
    this app's anchor at each quality (distortion-matched conditioning)."""

    def __post_init__(self) -> None:
        if self.anchor is not None and self.anchor not in self.baselines:
            raise InputError(
                f"app {self.name!r}: anchor {self.anchor!r} is not one of its baselines {sorted(self.baselines)}"
            )
        if self.config.out_channels != self.config.in_channels:
            raise InputError(f"app {self.name!r}: out_channels must equal in_channels (the target is the source)")


def register_app(spec: AppSpec) -> None:
    """Add a user's app ``spec`` (a second app of the same name raises :class:`InputError`)."""
    old = {**_builtin(), **_USER}.get(spec.name)
    if old is not None and old is not spec:
        raise InputError(f"app {spec.name!r} is already registered")
    _USER[spec.name] = spec


def unregister_app(name: str) -> None:
    """Remove a user's app added with :func:`register_app` (built-in apps stay)."""
    _USER.pop(name, None)


def _builtin() -> dict[str, AppSpec]:
    """The built-in apps, read from :data:`APP_MODULES` once."""
    if not _BUILTIN:
        for mod in APP_MODULES:
            for spec in importlib.import_module(mod).APPS:
                _BUILTIN[spec.name] = spec
    return _BUILTIN


def list_apps() -> dict[str, AppSpec]:
    """The built-in and the user's apps, by name."""
    return dict(sorted({**_builtin(), **_USER}.items()))


def get_app(name: str) -> AppSpec:
    """The app ``name``; :class:`InputError` lists the known apps."""
    apps = list_apps()
    if name not in apps:
        raise InputError(f"unknown app {name!r}; known apps: {', '.join(apps) or '(none)'}")
    return apps[name]
