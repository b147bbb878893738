// Copy what `sandwich viewer` ships into the Python package (src/neuralwrap/sandwich/viewer/static/):
// this module's src/*.js, and the onnxruntime-web files the page loads (the WebGPU build, whose one WASM binary
// runs both the WebGPU and the WASM execution providers) from node_modules, with the pinned version in ort/VERSION.
// Run after `npm ci` and after any change under web/src: `npm run vendor`.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const web = new URL('../', import.meta.url);
const stat = new URL('../src/neuralwrap/sandwich/viewer/static/', web);
const dist = new URL('node_modules/onnxruntime-web/dist/', web);
const ORT_FILES = ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];

for (const name of ['tag.js', 'tensor.js', 'decoder.js']) copyFileSync(new URL(`src/${name}`, web), new URL(name, stat));
mkdirSync(new URL('ort/', stat), { recursive: true });
for (const name of ORT_FILES) copyFileSync(new URL(name, dist), new URL(`ort/${name}`, stat));
const version = JSON.parse(readFileSync(new URL('node_modules/onnxruntime-web/package.json', web), 'utf8')).version;
const pinned = JSON.parse(readFileSync(new URL('package.json', web), 'utf8')).dependencies['onnxruntime-web'];
if (version !== pinned) throw new Error(`node_modules has onnxruntime-web ${version}, package.json pins ${pinned}: run npm ci`);
writeFileSync(new URL('ort/VERSION', stat), `onnxruntime-web ${version}\n`);
console.log(`vendored web/src and onnxruntime-web ${version} (${ORT_FILES.join(', ')})`);
