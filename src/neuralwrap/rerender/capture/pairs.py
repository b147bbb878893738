"""Which photo pairs structure from motion matches: exhaustive, sequential, or retrieval with a vocabulary tree
built from the collection's own SIFT features (nothing is downloaded).

Retrieval: a sample of every photo's SIFT descriptors (at most :data:`VOCAB_SAMPLE` in all, fixed seed) is
clustered into a visual vocabulary (pycolmap ``VisualIndex``: k-means + Hamming embedding); every photo is
then indexed and matched against its ``k`` most similar photos (``match_vocabtree`` with that vocabulary).
Cost: O(n·k) pairs instead of the exhaustive n·(n-1)/2.

Example::

    match_pairs(pycolmap, db, "retrieval", num_photos, options, work_dir)
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from neuralwrap.errors import InputError

__all__ = ["PAIR_MODES", "VOCAB_SAMPLE", "build_vocabulary", "choose_pairs", "match_pairs"]

log = logging.getLogger(__name__)

#: ``--pairs`` values (``auto`` picks by collection size, see :func:`choose_pairs`)
PAIR_MODES: tuple[str, ...] = ("auto", "exhaustive", "retrieval", "sequential")

#: descriptors used to build the vocabulary (evenly sampled over the photos)
VOCAB_SAMPLE: int = 100_000


def choose_pairs(mode: str, num_photos: int, exhaustive_limit: int) -> str:
    """The pair selection to run: ``mode`` itself, or for ``auto`` exhaustive up to ``exhaustive_limit`` photos
    and retrieval above. Raises :class:`InputError` for an unknown mode."""
    if mode not in PAIR_MODES:
        raise InputError(f"unknown pair selection {mode!r}; choose one of {', '.join(PAIR_MODES)}")
    if mode != "auto":
        return mode
    return "exhaustive" if num_photos <= exhaustive_limit else "retrieval"


def build_vocabulary(pc: Any, db: Path, out: Path, *, seed: int = 0, num_threads: int = -1) -> dict[str, int]:
    """Build a ``VisualIndex`` vocabulary from the SIFT descriptors in ``db`` and write it to ``out``.

    Words: a power of two near ``samples / 64`` in [64, 4096]. Returns ``{"descriptors", "words"}``.
    """
    database = pc.Database.open(db)
    try:
        images = database.read_all_images()
        per = max(8, VOCAB_SAMPLE // max(len(images), 1))
        rng = np.random.default_rng(seed)
        parts = []
        for img in images:
            d = database.read_descriptors(img.image_id).data
            if len(d) > per:
                d = d[np.sort(rng.choice(len(d), per, replace=False))]
            parts.append(d)
    finally:
        database.close()
    desc = np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 128), np.float32)
    if len(desc) < 256:
        raise InputError(f"only {len(desc)} SIFT features in the collection: too few to build a retrieval vocabulary")
    words = int(2 ** round(math.log2(max(64, min(4096, len(desc) / 64)))))
    index = pc.VisualIndex.create(128, 64)
    opts = pc.VisualIndex.BuildOptions()
    opts.num_visual_words = words
    opts.num_iterations = 15
    opts.num_rounds = 1
    opts.num_threads = num_threads
    index.build(opts, pc.FeatureDescriptorsFloat(pc.FeatureExtractorType.SIFT, desc))
    index.write(out)
    log.info("retrieval vocabulary: %d words from %d descriptors", words, len(desc))
    return {"descriptors": len(desc), "words": words}


def match_pairs(
    pc: Any,
    db: Path,
    how: str,
    *,
    work: Path,
    neighbours: int,
    sequential_overlap: int,
    num_threads: int = -1,
    seed: int = 0,
) -> dict[str, int]:
    """Match the photos of ``db`` by ``how`` (exhaustive / sequential / retrieval); returns match statistics
    (``pairs`` matched, ``verified`` pairs, and the vocabulary size for retrieval)."""
    matching = pc.FeatureMatchingOptions()
    matching.num_threads = num_threads
    stats: dict[str, int] = {}
    if how == "exhaustive":
        pc.match_exhaustive(db, matching_options=matching, device=pc.Device.cpu)
    elif how == "sequential":
        pairing = pc.SequentialPairingOptions()
        pairing.overlap = sequential_overlap
        pairing.quadratic_overlap = True
        pc.match_sequential(db, matching_options=matching, pairing_options=pairing, device=pc.Device.cpu)
    elif how == "retrieval":
        vocab = work / "vocabulary.bin"
        stats.update(build_vocabulary(pc, db, vocab, seed=seed, num_threads=num_threads))
        pairing = pc.VocabTreePairingOptions()
        pairing.vocab_tree_path = str(vocab)
        pairing.num_images = neighbours + 1  # the photo itself comes back first
        pairing.num_threads = num_threads
        pc.match_vocabtree(db, matching_options=matching, pairing_options=pairing, device=pc.Device.cpu)
    else:
        raise InputError(f"unknown pair selection {how!r}")
    database = pc.Database.open(db)
    try:
        stats["pairs"] = int(database.num_matched_image_pairs())
        stats["verified"] = int(database.num_verified_image_pairs())
    finally:
        database.close()
    return stats
