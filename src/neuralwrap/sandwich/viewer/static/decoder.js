// Decode a sandwich JPEG in the browser: read its tag, decode the JPEG with the browser's own decoder, run the
// model's ONNX post-processor with onnxruntime-web (WebGPU where available, WASM otherwise) and return RGBA
// pixels at full resolution. The folder it loads from holds manifest.json and the `<name>.post.onnx` files
// written by `sandwich viewer` or `sandwich export-onnx`.
//
//   import * as ort from './ort/ort.webgpu.min.mjs';
//   import { SandwichDecoder, configureOrt } from './decoder.js';
//   configureOrt(ort, new URL('./ort/', import.meta.url).href);
//   const decoder = await SandwichDecoder.load({ ort, baseUrl: new URL('./', import.meta.url).href });
//   const { image } = await decoder.decode(new Uint8Array(await (await fetch('photo.jpg')).arrayBuffer()));

import { jpegHeader, jpegTruncated, readTag, tagText } from './tag.js';
import { planesToRgba, rgbaToPlanes } from './tensor.js';

export const MANIFEST = 'manifest.json';
export const MANIFEST_FORMAT = 'neuralwrap-onnx';
export const MANIFEST_VERSION = 1;
/** Smallest code-image side (pixels) the exported graphs accept. */
export const MIN_CODE_SIDE = 8;

/** A file or model folder that cannot be decoded: the message says why. */
export class DecodeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DecodeError';
  }
}

/** `manifest` (parsed manifest.json) after checking its format; throws DecodeError otherwise. */
export function checkManifest(manifest) {
  if (manifest === null || typeof manifest !== 'object' || manifest.format !== MANIFEST_FORMAT) {
    throw new DecodeError(`${MANIFEST} is not a ${MANIFEST_FORMAT} manifest`);
  }
  if (manifest.format_version !== MANIFEST_VERSION) {
    throw new DecodeError(
      `${MANIFEST} has format_version ${JSON.stringify(manifest.format_version)}; this decoder reads ${MANIFEST_VERSION}`,
    );
  }
  if (manifest.models === null || typeof manifest.models !== 'object') {
    throw new DecodeError(`${MANIFEST} has no models table`);
  }
  return manifest;
}

/**
 * The manifest entry (plus its `name`) that decodes a file with `tag` ({model, version, quality}); throws
 * DecodeError when the model is missing, has another version, or is not a one-file JPEG model the browser can
 * decode.
 */
export function pickModel(manifest, tag) {
  const entry = Object.hasOwn(manifest.models, tag.model) ? manifest.models[tag.model] : undefined;
  if (entry === undefined) {
    const known = Object.keys(manifest.models).sort().join(', ') || '(none)';
    throw new DecodeError(`file was made by model ${JSON.stringify(tag.model)}, which this page does not have (it has: ${known})`);
  }
  if (String(entry.version) !== tag.version) {
    throw new DecodeError(`file needs ${tag.model} version ${tag.version}, this page has version ${entry.version}`);
  }
  if (entry.codec !== 'jpeg') {
    throw new DecodeError(`model ${tag.model} codes ${entry.codec} files; this decoder reads JPEG only`);
  }
  for (const key of ['code_channels', 'out_channels']) {
    if (entry[key] !== 1 && entry[key] !== 3) {
      throw new DecodeError(`model ${tag.model} has ${entry[key]} ${key.replace('_', ' ')}; this decoder takes 1 or 3`);
    }
  }
  if (typeof entry.post !== 'string' || !/^[A-Za-z0-9_.\-]+\.onnx$/.test(entry.post)) {
    throw new DecodeError(`model ${tag.model}: manifest entry has no valid post-processor file name`);
  }
  return { name: tag.model, ...entry };
}

/**
 * Execution providers for onnxruntime-web: ['webgpu', 'wasm'] when the browser offers a WebGPU adapter,
 * else ['wasm'] (headless browsers often expose navigator.gpu without an adapter).
 */
export async function executionProviders(nav = globalThis.navigator) {
  if (!nav || !nav.gpu) return ['wasm'];
  try {
    return (await nav.gpu.requestAdapter()) ? ['webgpu', 'wasm'] : ['wasm'];
  } catch {
    return ['wasm'];
  }
}

/**
 * Settings for a plain static server (not cross-origin isolated, so one WASM thread) and a local copy of the
 * runtime: `wasmPrefix` is the URL of the folder holding onnxruntime-web's .mjs/.wasm files.
 */
export function configureOrt(ort, wasmPrefix) {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = wasmPrefix;
  ort.env.logLevel = 'error';
}

async function sha256Hex(bytes) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * Decode JPEG bytes with the browser's decoder → `{width, height, rgba}` (RGBA `Uint8ClampedArray`), with no
 * colour conversion and EXIF orientation ignored (as neuralwrap's Python decoder).
 */
export async function decodeJpeg(bytes) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }), {
      colorSpaceConversion: 'none',
      imageOrientation: 'none',
      premultiplyAlpha: 'none',
    });
  } catch (err) {
    throw new DecodeError(`the browser cannot decode this JPEG (${err.message || err})`);
  }
  const { width, height } = bitmap;
  const canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(width, height) : Object.assign(document.createElement('canvas'), { width, height });
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { width, height, rgba: ctx.getImageData(0, 0, width, height).data };
}

/** Draw `{width, height, rgba}` into `canvas` at full resolution (the canvas is resized to the image). */
export function drawImage(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d').putImageData(new ImageData(image.rgba, image.width, image.height), 0, 0);
}

/** Sandwich JPEG → pixels, with the post-processors of one model folder. Sessions are created once per model. */
export class SandwichDecoder {
  /** Use {@link SandwichDecoder.load}. */
  constructor({ ort, baseUrl, manifest, providers, fetchFn }) {
    this.ort = ort;
    this.baseUrl = baseUrl;
    this.manifest = checkManifest(manifest);
    this.providers = providers;
    this.fetchFn = fetchFn;
    this.sessions = new Map();
  }

  /**
   * Read `manifest.json` under `baseUrl` (a folder URL ending in '/'). `providers` defaults to
   * {@link executionProviders}.
   */
  static async load({ ort, baseUrl, providers, fetchFn = globalThis.fetch.bind(globalThis) }) {
    const url = new URL(MANIFEST, baseUrl).href;
    const response = await fetchFn(url);
    if (!response.ok) throw new DecodeError(`cannot load ${url}: HTTP ${response.status}`);
    let manifest;
    try {
      manifest = await response.json();
    } catch (err) {
      throw new DecodeError(`${url} is not JSON (${err.message})`);
    }
    return new SandwichDecoder({ ort, baseUrl, manifest, providers: providers ?? (await executionProviders()), fetchFn });
  }

  /** The onnxruntime-web session of a manifest entry (created on first use, checked against its sha256). */
  async session(entry) {
    if (!this.sessions.has(entry.name)) this.sessions.set(entry.name, this.createSession(entry));
    try {
      return await this.sessions.get(entry.name);
    } catch (err) {
      this.sessions.delete(entry.name);
      throw err;
    }
  }

  async createSession(entry) {
    const url = new URL(entry.post, this.baseUrl).href;
    const response = await this.fetchFn(url);
    if (!response.ok) throw new DecodeError(`cannot load the post-processor ${url}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const expected = entry.sha256 && entry.sha256[entry.post];
    if (expected && globalThis.crypto && globalThis.crypto.subtle) {
      const got = await sha256Hex(bytes);
      if (got !== expected) throw new DecodeError(`${entry.post}: sha256 ${got} does not match the manifest; the file is damaged`);
    }
    const options = { executionProviders: this.providers, graphOptimizationLevel: 'all' };
    try {
      return { session: await this.ort.InferenceSession.create(bytes, options), providers: this.providers };
    } catch (err) {
      if (this.providers[0] === 'wasm') throw err;
      const session = await this.ort.InferenceSession.create(bytes, { ...options, executionProviders: ['wasm'] });
      return { session, providers: ['wasm'] };
    }
  }

  /** Run `entry`'s post-processor on the decoded code image `{width, height, rgba}` with codec quality `quality`. */
  async postprocess(entry, decoded, quality) {
    const { session, providers } = await this.session(entry);
    const c = entry.code_channels;
    const input = new this.ort.Tensor('float32', rgbaToPlanes(decoded.rgba, decoded.width, decoded.height, c), [1, c, decoded.height, decoded.width]);
    const q = new this.ort.Tensor('float32', Float32Array.of(quality), [1]);
    const results = await session.run({ decoded: input, quality: q });
    const out = results.image ?? results[session.outputNames[0]];
    const [, channels, height, width] = out.dims;
    const data = typeof out.getData === 'function' ? await out.getData() : out.data;
    if (typeof out.dispose === 'function') out.dispose();
    return { image: { width, height, rgba: planesToRgba(data, width, height, channels) }, providers };
  }

  /**
   * Decode sandwich JPEG bytes → `{tag, model, image, plain, providers}`: `image` the post-processed picture at
   * full resolution, `plain` the browser's plain decode of the same file (what an ordinary viewer shows). A JPEG
   * without a tag decodes plainly (`tag` and `model` null, `image` = `plain`), as neuralwrap's Python decoder
   * does. Throws TagError / DecodeError with a message for anything else.
   */
  async decode(bytes) {
    const header = jpegHeader(bytes);
    const tag = readTag(bytes);
    if (jpegTruncated(bytes)) throw new DecodeError('truncated JPEG file: no end-of-image marker after the image data');
    const plain = await decodeJpeg(bytes);
    if (plain.width !== header.width || plain.height !== header.height) {
      throw new DecodeError(`decoded ${plain.width}×${plain.height}, the JPEG header says ${header.width}×${header.height}`);
    }
    if (tag === null) return { tag: null, model: null, image: plain, plain, providers: [] };
    const entry = pickModel(this.manifest, tag);
    if (header.components !== entry.code_channels) {
      throw new DecodeError(`${tagText(tag)}: the JPEG has ${header.components} colour components, model ${entry.name} reads ${entry.code_channels}`);
    }
    if (Math.min(plain.width, plain.height) < MIN_CODE_SIDE) {
      throw new DecodeError(`image ${plain.width}×${plain.height} is smaller than the ${MIN_CODE_SIDE}×${MIN_CODE_SIDE} the post-processor takes`);
    }
    const { image, providers } = await this.postprocess(entry, plain, tag.quality);
    return { tag, model: entry, image, plain, providers };
  }
}
