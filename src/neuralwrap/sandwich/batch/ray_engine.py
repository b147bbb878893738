"""The Ray engine: Ray Data ``map_batches`` over the jobs with a pool of model-holding actors.

Each actor (:class:`RayWorker`, one CPU, or ``gpus_per_worker`` GPUs) loads the model once and runs its batches
of jobs with one torch thread, writing outputs itself (the output folder must be on a filesystem every node
sees, at the same path); only report rows travel back, and the driver records them as they arrive. Ray is
imported only here, inside the functions: the local engine and the rest of the package need no Ray.

Cluster: ``address`` (``--ray-address``) or ``$RAY_ADDRESS`` joins a running cluster (``ray start --head`` on
one node, ``ray start --address HEAD:6379`` on the others, neuralwrap installed on each); otherwise a local
Ray instance is started with ``num_cpus`` CPUs and shut down at the end.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from neuralwrap.errors import NeuralwrapError, UnsupportedOptionError
from neuralwrap.sandwich.batch.worker import BatchWorker, WorkSpec, set_worker_threads

__all__ = ["RayWorker", "ray_available", "run_ray"]

log = logging.getLogger(__name__)


def ray_available() -> bool:
    """True when Ray Data can be imported (``pip install 'neuralwrap[ray]'``)."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


class RayWorker:
    """Ray Data's callable class: a :class:`BatchWorker` per actor; batches of ``{"job": JSON}`` → ``{"row":
    JSON}`` (plain strings, so no column typing can get in the way)."""

    def __init__(self, spec: WorkSpec) -> None:
        set_worker_threads()
        self.worker = BatchWorker(spec)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        set_worker_threads()  # the actor may call from another thread than the constructor's
        rows = self.worker([json.loads(str(text)) for text in batch["job"]])
        return {"row": [json.dumps(r) for r in rows]}


def _connect(address: str | None, num_cpus: int | None, verbose: bool) -> bool:
    """Join the cluster at ``address`` / ``$RAY_ADDRESS``, or start a local instance; True when this call
    started Ray (and so shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    common: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": verbose,
        "logging_level": logging.INFO if verbose else logging.WARNING,
    }
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, **common)
    else:
        ray.init(num_cpus=num_cpus, **common)
    return True


def _pool_size(gpus_per_worker: float, jobs: int) -> int:
    """Actors to start: one per CPU of the cluster, or per ``gpus_per_worker`` of its GPUs; at most one per job."""
    import ray

    resources = ray.cluster_resources()
    if gpus_per_worker > 0:
        gpus = float(resources.get("GPU", 0))
        if gpus < gpus_per_worker:
            raise UnsupportedOptionError(f"--num-gpus-per-worker {gpus_per_worker}: the Ray cluster has {gpus:g} GPUs")
        n = int(gpus // gpus_per_worker)
    else:
        n = int(resources.get("CPU", 1))
    return max(1, min(n, jobs))


def run_ray(
    jobs: Sequence[dict[str, Any]],
    spec: WorkSpec,
    on_rows: Callable[[list[dict[str, Any]]], None],
    *,
    address: str | None = None,
    num_cpus: int | None = None,
    gpus_per_worker: float = 0.0,
    batch_size: int = 8,
    verbose: bool = False,
) -> int:
    """Run ``jobs`` on Ray Data; ``on_rows`` receives report rows as batches finish (in no set order). Returns
    the number of actors. ``batch_size``: jobs per actor call (lowered so every actor gets work)."""
    if not ray_available():
        raise UnsupportedOptionError("--engine ray needs Ray Data: pip install 'neuralwrap[ray]'")
    import ray
    import ray.data

    started = _connect(address, num_cpus, verbose)
    try:
        with warnings.catch_warnings():  # Ray's own deprecation notes about its settings are not the user's
            warnings.simplefilter("ignore")
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False  # the command shows one bar over images
        if not verbose:
            logging.getLogger("ray.data").setLevel(logging.ERROR)
        n = _pool_size(gpus_per_worker, len(jobs))
        per_call = max(1, min(batch_size, math.ceil(len(jobs) / n)))
        ds = ray.data.from_items([{"job": json.dumps(j)} for j in jobs])
        ds = ds.map_batches(
            RayWorker,
            fn_constructor_kwargs={"spec": spec},
            batch_size=per_call,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=n),
            num_cpus=1,
            num_gpus=gpus_per_worker or None,
        )
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                on_rows([json.loads(str(text)) for text in batch["row"]])
        except ray.exceptions.RayError as exc:  # a worker died (killed, out of memory): rows so far are recorded
            raise NeuralwrapError(f"the Ray run failed: {' '.join(str(exc).split())[:300]}") from exc
        return n
    finally:
        if started:
            ray.shutdown()
