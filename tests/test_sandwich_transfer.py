"""Distortion-matched conditioning when a JPEG-trained sandwich runs over another real codec."""

from __future__ import annotations

from neuralwrap.sandwich.inference.transfer import match_conditioning, plain_psnr_curve
from sandwich_helpers import textured_image


def test_matched_jpeg_quality_is_monotonic_and_matches_distortion() -> None:
    crops = [textured_image(64, 64, 40 + i) for i in range(3)]
    qualities = [10, 40, 80]
    mapping = match_conditioning("webp", qualities, crops, {"subsampling": "420", "optimize": True})
    told = [mapping[q] for q in qualities]
    assert told == sorted(told) and all(5 <= t <= 95 for t in told)
    webp = plain_psnr_curve("webp", crops, qualities)
    jpeg = plain_psnr_curve("jpeg", crops, told, {"subsampling": "420"})
    assert abs(float(webp[1] - jpeg[1])) < 1.5  # mid quality: the matched JPEG damages about as much
