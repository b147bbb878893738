"""The local engine: one process, the model loaded once, a pool of threads each running one job at a time with
one torch thread (torch, Pillow and the codecs release the GIL while they compute), so all cores work without
Ray. Rows come back in input order as jobs finish."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from neuralwrap.sandwich.batch.worker import BatchWorker, WorkSpec, set_worker_threads

__all__ = ["available_cpus", "run_local"]


def available_cpus() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def run_local(
    jobs: Sequence[dict[str, Any]],
    spec: WorkSpec,
    on_rows: Callable[[list[dict[str, Any]]], None],
    *,
    threads: int | None = None,
    batch_size: int = 8,
) -> int:
    """Run ``jobs`` in this process on ``threads`` threads (default: all cores); ``on_rows`` receives the report
    rows as they finish, in input order; at most ``threads × batch_size`` jobs are queued at once. Returns the
    number of threads used."""
    n = max(1, min(threads or available_cpus(), len(jobs) or 1))
    worker = BatchWorker(spec)
    pending: deque[Future[dict[str, Any]]] = deque()
    pool = ThreadPoolExecutor(n, initializer=set_worker_threads, thread_name_prefix="neuralwrap-batch")
    try:
        for job in jobs:
            pending.append(pool.submit(worker.run, job))
            if len(pending) >= n * max(1, batch_size):
                on_rows([pending.popleft().result()])
        while pending:
            on_rows([pending.popleft().result()])
    finally:  # Ctrl-C: queued jobs are dropped; running ones finish (each writes atomically)
        pool.shutdown(wait=True, cancel_futures=True)
    return n
