"""Batch encode/decode of image sets and clip folders (``sandwich encode IN_FOLDER OUT_FOLDER``): inputs from a
folder, glob or manifest (inputs.py), the resumable run record (state.py), the per-file work (worker.py), the
local thread engine (local.py), the Ray Data engine (ray_engine.py, optional extra ``neuralwrap[ray]``) and
report.csv (report.py). Names load lazily."""

from neuralwrap.lazy import lazy_exports

_EXPORTS = {
    "BatchInputs": "neuralwrap.sandwich.batch.inputs",
    "BatchWorker": "neuralwrap.sandwich.batch.worker",
    "REPORT_FIELDS": "neuralwrap.sandwich.batch.report",
    "WorkSpec": "neuralwrap.sandwich.batch.worker",
    "find_inputs": "neuralwrap.sandwich.batch.inputs",
    "is_batch_source": "neuralwrap.sandwich.batch.inputs",
    "ray_available": "neuralwrap.sandwich.batch.ray_engine",
    "run_local": "neuralwrap.sandwich.batch.local",
    "run_ray": "neuralwrap.sandwich.batch.ray_engine",
    "run_state": "neuralwrap.sandwich.batch.state",
    "summarize": "neuralwrap.sandwich.batch.report",
    "write_report": "neuralwrap.sandwich.batch.report",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
