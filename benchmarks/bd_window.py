"""BD-rate of every curve in an eval's records.csv vs its anchor, restricted to a bpp window.

python benchmarks/bd_window.py runs/eval_jpeg420/records.csv --lo 0.2 --hi 1.7
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from neuralwrap.rd.sweep import RDRecord, bd_vs_anchor, read_csv


def window(records: list[RDRecord], lo: float, hi: float) -> list[RDRecord]:
    """Records whose real rate lies in [lo, hi] bpp."""
    return [r for r in records if lo <= r.bpp <= hi]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("records")
    p.add_argument("--anchor", default="plain")
    p.add_argument("--lo", type=float, default=0.2)
    p.add_argument("--hi", type=float, default=1.7)
    a = p.parse_args()
    recs = window(read_csv(a.records), a.lo, a.hi)
    out = {lab: bd_vs_anchor(recs, lab, a.anchor) for lab in dict.fromkeys(r.label for r in recs) if lab != a.anchor}
    print(json.dumps({"window_bpp": [a.lo, a.hi], **out}, indent=1, default=lambda v: float(np.round(v, 3))))


if __name__ == "__main__":
    main()
