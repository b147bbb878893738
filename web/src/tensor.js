// Pixels ⇄ the post-processor's tensors: RGBA bytes (canvas ImageData) → NCHW float32 in [0,1], and the
// network's NCHW float32 output → RGBA bytes, rounded exactly as neuralwrap.io.images.from_tensor does
// (clamp to [0,1], float32 multiply by 255, round half to even). Pure functions, no DOM.

/**
 * RGBA bytes of a `width`×`height` image → NCHW float32 planes of `channels` (3: R, G, B; 1: the R plane,
 * which is the gray level of a grayscale JPEG decoded by a browser), each value byte / 255.
 */
export function rgbaToPlanes(rgba, width, height, channels) {
  const n = width * height;
  if (rgba.length !== 4 * n) throw new RangeError(`expected ${4 * n} RGBA bytes for ${width}×${height}, got ${rgba.length}`);
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${channels}`);
  const planes = new Float32Array(channels * n);
  for (let c = 0; c < channels; c += 1) {
    const base = c * n;
    for (let p = 0; p < n; p += 1) planes[base + p] = rgba[4 * p + c] / 255;
  }
  return planes;
}

/** numpy.rint of a non-negative float32 value × 255 (round half to even), clamped to [0, 255]. */
export function toByte(value) {
  const v = Math.fround(Math.fround(Math.min(Math.max(value, 0), 1)) * 255); // float32 product, as numpy
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 === 1 ? r - 1 : r;
}

/**
 * NCHW float32 planes (`channels` 1 or 3) of a `width`×`height` image → RGBA bytes (`Uint8ClampedArray`, alpha
 * 255; one channel is drawn as gray). NaN becomes 0.
 */
export function planesToRgba(planes, width, height, channels) {
  const n = width * height;
  if (planes.length !== channels * n) {
    throw new RangeError(`expected ${channels * n} values for ${channels}×${height}×${width}, got ${planes.length}`);
  }
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${channels}`);
  const rgba = new Uint8ClampedArray(4 * n);
  for (let p = 0; p < n; p += 1) {
    for (let c = 0; c < 3; c += 1) {
      const value = planes[(channels === 3 ? c : 0) * n + p];
      rgba[4 * p + c] = Number.isNaN(value) ? 0 : toByte(value);
    }
    rgba[4 * p + 3] = 255;
  }
  return rgba;
}
