// Pixel ⇄ tensor glue: layout, scaling, and rounding exactly like neuralwrap.io.images.from_tensor.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { planesToRgba, rgbaToPlanes, toByte } from '../src/tensor.js';

test('rgbaToPlanes makes NCHW planes of byte / 255', () => {
  const rgba = Uint8ClampedArray.from([10, 20, 30, 255, 40, 50, 60, 255]);
  assert.deepEqual(Array.from(rgbaToPlanes(rgba, 2, 1, 3)), [10, 40, 20, 50, 30, 60].map((v) => Math.fround(v / 255)));
  assert.deepEqual(Array.from(rgbaToPlanes(rgba, 2, 1, 1)), [10, 40].map((v) => Math.fround(v / 255)));
  assert.throws(() => rgbaToPlanes(rgba, 3, 1, 3), RangeError);
  assert.throws(() => rgbaToPlanes(rgba, 2, 1, 2), RangeError);
});

test('toByte rounds half to even after a float32 multiply, and clamps', () => {
  assert.equal(toByte(-0.2), 0);
  assert.equal(toByte(1.7), 255);
  assert.equal(toByte(0.5), 128); // float32(0.5 * 255) = 127.5 → 128 (even)
  assert.equal(toByte(0.5 / 128), 1); // float32(255 / 256) = 0.99609375 → 1
  for (let v = 0; v <= 255; v += 1) assert.equal(toByte(Math.fround(v / 255)), v);
});

test('planesToRgba interleaves, adds opaque alpha and draws one channel as gray', () => {
  const planes = Float32Array.from([0, 1, 0.5, 0.25, 1, 0]);
  assert.deepEqual(Array.from(planesToRgba(planes, 2, 1, 3)), [0, 128, 255, 255, 255, 64, 0, 255]);
  assert.deepEqual(Array.from(planesToRgba(Float32Array.from([0.2, Number.NaN]), 2, 1, 1)), [51, 51, 51, 255, 0, 0, 0, 255]);
  assert.throws(() => planesToRgba(planes, 2, 2, 3), RangeError);
});

test('bytes → planes → bytes is the identity', () => {
  const rgba = new Uint8ClampedArray(4 * 256);
  for (let i = 0; i < 256; i += 1) rgba.set([i, 255 - i, (7 * i) % 256, 255], 4 * i);
  assert.deepEqual(planesToRgba(rgbaToPlanes(rgba, 16, 16, 3), 16, 16, 3), rgba);
});
