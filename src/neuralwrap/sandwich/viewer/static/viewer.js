// The page of `sandwich viewer`: index.html?src=<relative URL of a sandwich .jpg> decodes that file; without src
// it offers a file picker and drag-and-drop. Either way the result is drawn at full resolution into
// <canvas id="output">, the browser's plain decode into <canvas id="plain"> under a before/after slider, and
// document.body.dataset.status becomes "done" (or "error", with the message in #error).
// &view=after hides the plain decode and the slider; &embed=1 shows the decoded picture only (for an <iframe>).
import * as ort from './ort/ort.webgpu.min.mjs';
import { SandwichDecoder, configureOrt, drawImage } from './decoder.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
document.body.classList.toggle('embed', params.get('embed') === '1');
let decoderPromise = null;

function setStatus(status, line) {
  document.body.dataset.status = status;
  $('status-line').textContent = line;
}

function fail(err) {
  const message = (err && err.message) || String(err);
  $('error').textContent = message;
  $('error').hidden = false;
  setStatus('error', 'Could not decode the file.');
  console.error(err);
}

function decoder() {
  if (decoderPromise === null) {
    configureOrt(ort, new URL('./ort/', import.meta.url).href);
    decoderPromise = SandwichDecoder.load({ ort, baseUrl: new URL('./', import.meta.url).href });
  }
  return decoderPromise;
}

/** A same-origin URL for `src`: the page never fetches from anywhere else. */
function localUrl(src) {
  const url = new URL(src, location.href);
  if (url.origin !== location.origin) {
    throw new Error(`src must be a relative URL on this site, got ${src}`);
  }
  return url;
}

async function fetchBytes(src) {
  const url = localUrl(src);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load ${src}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function setSlider(percent) {
  $('before').style.clipPath = `inset(0 ${100 - percent}% 0 0)`;
  $('handle').style.left = `${percent}%`;
}

async function show(bytes, name) {
  setStatus('loading', `Decoding ${name}…`);
  $('error').hidden = true;
  const started = performance.now();
  const result = await (await decoder()).decode(bytes);
  drawImage($('output'), result.image);
  drawImage($('plain'), result.plain);
  $('compare').hidden = false;
  const single = params.get('view') === 'after' || result.tag === null;
  document.body.classList.toggle('single', single);
  setSlider(Number($('slider').value));
  const ms = Math.round(performance.now() - started);
  document.body.dataset.model = result.tag ? result.tag.model : '';
  document.body.dataset.backend = result.providers[0] || 'none';
  document.body.dataset.ms = String(ms);
  const what = result.tag
    ? `${result.tag.model}@${result.tag.version}, q=${result.tag.quality}, ${result.providers[0]} in ${ms} ms`
    : 'a plain JPEG (no neuralwrap tag): shown as any viewer shows it';
  $('details').textContent = `${name}: ${result.image.width}×${result.image.height}, ${what}.`;
  const line = result.tag === null ? 'Decoded plainly.' : single ? 'Decoded.' : 'Decoded. Drag the slider to compare with a plain viewer.';
  setStatus('done', line);
}

function run(task) {
  task.catch(fail);
}

function setupPicker() {
  $('picker').hidden = false;
  setStatus('ready', 'Open a sandwich JPEG.');
  const open = (file) => run(file.arrayBuffer().then((buf) => show(new Uint8Array(buf), file.name)));
  $('file').addEventListener('change', () => {
    if ($('file').files.length) open($('file').files[0]);
  });
  const drop = $('drop');
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add('over');
    });
  }
  for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) open(event.dataTransfer.files[0]);
  });
}

$('slider').addEventListener('input', () => setSlider(Number($('slider').value)));
const src = params.get('src');
if (src) {
  run(fetchBytes(src).then((bytes) => show(bytes, src)));
} else {
  setupPicker();
}
