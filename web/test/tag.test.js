// The tag parser against cases.json, which Python's parse_tag / read_tag wrote (tests/test_web_module.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { TagError, jpegHeader, jpegTruncated, parseTag, pyStrip, readTag, tagText, xmpProperties } from '../src/tag.js';

const cases = JSON.parse(readFileSync(new URL('./fixtures/cases.json', import.meta.url), 'utf8'));
const file = (name) => new Uint8Array(Buffer.from(cases.files.find((f) => f.name === name).base64, 'base64'));

function outcome(fn) {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TagError) return 'error';
    throw err;
  }
}

test('parseTag agrees with Python on every tag text', () => {
  assert.ok(cases.tags.length > 20);
  for (const { text, expect } of cases.tags) {
    assert.deepEqual(outcome(() => parseTag(text)), expect, JSON.stringify(text));
  }
});

test('readTag agrees with Python on every file', () => {
  for (const { name, expect } of cases.files) {
    assert.deepEqual(outcome(() => readTag(file(name))), expect, name);
  }
});

test('readTag takes an ArrayBuffer too', () => {
  const bytes = file('sandwich.jpg');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  assert.deepEqual(readTag(buffer), { model: 'jpeg420', version: '1', quality: 40 });
});

test('malformed tags and corrupt files throw TagError with a message', () => {
  assert.throws(() => parseTag('neuralwrap:jpeg420@1;q=four'), { name: 'TagError', message: /malformed neuralwrap tag/ });
  assert.throws(() => readTag(file('not_a_jpeg.png')), { name: 'TagError', message: /not a JPEG/ });
  assert.throws(() => readTag(file('truncated_header.jpg')), { name: 'TagError', message: /truncated/ });
  assert.throws(() => readTag(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), { name: 'TagError', message: /end-of-image/ });
  assert.throws(() => readTag(new Uint8Array([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x01])), /length 1/);
});

test('jpegHeader reads size and components', () => {
  assert.deepEqual(
    { ...jpegHeader(file('sandwich.jpg')), comment: undefined },
    { comment: undefined, xmp: null, width: 48, height: 32, components: 3 },
  );
  assert.equal(jpegHeader(file('gray.jpg')).components, 1);
  assert.equal(jpegHeader(file('sandwich.jpg')).comment, 'neuralwrap:jpeg420@1;q=40');
});

test('jpegTruncated: data cut inside the scan has no end-of-image marker after it', () => {
  const bytes = file('sandwich.jpg');
  assert.equal(jpegTruncated(bytes), false);
  assert.equal(jpegTruncated(bytes.subarray(0, bytes.length - 10)), true);
});

test('the tag survives a round trip through tagText', () => {
  const tag = { model: 'jpeg420-compat', version: '2', quality: 95 };
  assert.deepEqual(parseTag(tagText(tag)), tag);
});

test('pyStrip strips what Python strips, not what String.trim strips', () => {
  assert.equal(pyStrip('\x1c a \x85'), 'a');
  assert.equal(pyStrip('\ufeffa'), '\ufeffa');
});

test('xmpProperties unescapes like xml.sax.saxutils.unescape and ignores other prefixes', () => {
  const text = `<x nw:a="1 &amp;lt; 2" xnw:b='no' nw:c='it&apos;s &quot;q&quot;'/>`;
  assert.deepEqual(xmpProperties(text), { a: '1 &lt; 2', c: `it's "q"` });
});
