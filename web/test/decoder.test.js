// Model choice, execution providers and the post-processing glue, with a fake onnxruntime (no browser needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DecodeError, SandwichDecoder, checkManifest, configureOrt, executionProviders, pickModel } from '../src/decoder.js';

const entry = {
  version: '1', codec: 'jpeg', subsampling: '420', in_channels: 3, code_channels: 3, out_channels: 3,
  scale: 1, app: null, pre: null, post: 'jpeg420.post.onnx', sha256: {}, opset: 20,
};
const manifest = { format: 'neuralwrap-onnx', format_version: 1, models: { jpeg420: entry } };

test('checkManifest refuses other formats and versions', () => {
  assert.equal(checkManifest(manifest), manifest);
  assert.throws(() => checkManifest({ format: 'other' }), DecodeError);
  assert.throws(() => checkManifest({ ...manifest, format_version: 2 }), /format_version 2/);
  assert.throws(() => checkManifest(null), DecodeError);
});

test('pickModel finds the tag name and version, or says why not', () => {
  assert.equal(pickModel(manifest, { model: 'jpeg420', version: '1', quality: 40 }).name, 'jpeg420');
  assert.throws(() => pickModel(manifest, { model: 'jpeg444', version: '1', quality: 40 }), /does not have \(it has: jpeg420\)/);
  assert.throws(() => pickModel(manifest, { model: 'jpeg420', version: '2', quality: 40 }), /version 2/);
  assert.throws(() => pickModel(manifest, { model: 'toString', version: '1', quality: 40 }), DecodeError);
  const video = { format: 'neuralwrap-onnx', format_version: 1, models: { v: { ...entry, codec: 'hevc' } } };
  assert.throws(() => pickModel(video, { model: 'v', version: '1', quality: 40 }), /JPEG only/);
  const bad = { format: 'neuralwrap-onnx', format_version: 1, models: { b: { ...entry, post: '../x.onnx' } } };
  assert.throws(() => pickModel(bad, { model: 'b', version: '1', quality: 40 }), /post-processor file/);
});

test('executionProviders: WebGPU only with an adapter', async () => {
  assert.deepEqual(await executionProviders(undefined), ['wasm']);
  assert.deepEqual(await executionProviders({}), ['wasm']);
  assert.deepEqual(await executionProviders({ gpu: { requestAdapter: async () => null } }), ['wasm']);
  assert.deepEqual(await executionProviders({ gpu: { requestAdapter: async () => ({}) } }), ['webgpu', 'wasm']);
  assert.deepEqual(await executionProviders({ gpu: { requestAdapter: async () => { throw new Error('x'); } } }), ['wasm']);
});

test('configureOrt: one thread, no proxy worker, local wasm files', () => {
  const ort = { env: { wasm: {} } };
  configureOrt(ort, 'http://127.0.0.1:8000/ort/');
  assert.deepEqual(ort.env.wasm, { numThreads: 1, proxy: false, wasmPaths: 'http://127.0.0.1:8000/ort/' });
});

/** A fake onnxruntime whose "post-processor" doubles the resolution and inverts the picture. */
function fakeOrt(calls) {
  class Tensor {
    constructor(type, data, dims) {
      Object.assign(this, { type, data, dims });
    }
  }
  const session = {
    outputNames: ['image'],
    async run(feeds) {
      calls.push(feeds);
      const [, c, h, w] = feeds.decoded.dims;
      const out = new Float32Array(c * 4 * h * w);
      for (let k = 0; k < c; k += 1)
        for (let y = 0; y < 2 * h; y += 1)
          for (let x = 0; x < 2 * w; x += 1) out[(k * 2 * h + y) * 2 * w + x] = 1 - feeds.decoded.data[(k * h + (y >> 1)) * w + (x >> 1)];
      return { image: new Tensor('float32', out, [1, c, 2 * h, 2 * w]) };
    },
  };
  const created = [];
  return {
    Tensor,
    created,
    InferenceSession: {
      async create(bytes, options) {
        created.push(options.executionProviders);
        if (options.executionProviders[0] === 'webgpu') throw new Error('no WebGPU here');
        return session;
      },
    },
  };
}

test('postprocess: NCHW input, quality as float32 [1], RGBA output; WebGPU failure falls back to WASM', async () => {
  const calls = [];
  const ort = fakeOrt(calls);
  const fetchFn = async () => ({ ok: true, arrayBuffer: async () => new ArrayBuffer(4) });
  const decoder = new SandwichDecoder({ ort, baseUrl: 'http://h/site/', manifest, providers: ['webgpu', 'wasm'], fetchFn });
  const rgba = Uint8ClampedArray.from([255, 0, 51, 255]);
  const model = pickModel(manifest, { model: 'jpeg420', version: '1', quality: 40 });
  const { image, providers } = await decoder.postprocess(model, { width: 1, height: 1, rgba }, 40);
  assert.deepEqual(ort.created, [['webgpu', 'wasm'], ['wasm']]);
  assert.deepEqual(providers, ['wasm']);
  assert.deepEqual(calls[0].decoded.dims, [1, 3, 1, 1]);
  assert.deepEqual(calls[0].quality.dims, [1]);
  assert.deepEqual(Array.from(calls[0].quality.data), [40]);
  assert.equal(image.width, 2);
  assert.equal(image.height, 2);
  assert.deepEqual(Array.from(image.rgba.subarray(0, 4)), [0, 255, 204, 255]);
  await decoder.postprocess(model, { width: 1, height: 1, rgba }, 40);
  assert.equal(ort.created.length, 2, 'the session is created once per model');
});

test('a damaged model file is refused by its sha256', async () => {
  const damaged = { ...manifest, models: { jpeg420: { ...entry, sha256: { 'jpeg420.post.onnx': '0'.repeat(64) } } } };
  const fetchFn = async () => ({ ok: true, arrayBuffer: async () => new ArrayBuffer(4) });
  const decoder = new SandwichDecoder({ ort: fakeOrt([]), baseUrl: 'http://h/', manifest: damaged, providers: ['wasm'], fetchFn });
  const model = pickModel(damaged, { model: 'jpeg420', version: '1', quality: 40 });
  await assert.rejects(decoder.postprocess(model, { width: 1, height: 1, rgba: new Uint8ClampedArray(4) }, 40), /sha256/);
});

test('SandwichDecoder.load reads manifest.json beside the page', async () => {
  const urls = [];
  const fetchFn = async (url) => {
    urls.push(url);
    return { ok: true, json: async () => manifest };
  };
  const decoder = await SandwichDecoder.load({ ort: {}, baseUrl: 'http://h/site/', providers: ['wasm'], fetchFn });
  assert.deepEqual(urls, ['http://h/site/manifest.json']);
  assert.deepEqual(Object.keys(decoder.manifest.models), ['jpeg420']);
  const missing = async () => ({ ok: false, status: 404 });
  await assert.rejects(SandwichDecoder.load({ ort: {}, baseUrl: 'http://h/', providers: ['wasm'], fetchFn: missing }), /HTTP 404/);
});
