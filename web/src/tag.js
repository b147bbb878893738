// The sandwich tag of a JPEG file: `neuralwrap:<model>@<version>;q=<quality>` in its COM marker (or, as
// neuralwrap's Python reader also accepts, the `nw:sandwich` property of an XMP packet in APP1).
// A port of neuralwrap.sandwich.inference.fileformat.read_tag / parse_tag for JPEG: the same regular
// expression, the same whitespace stripping, the same refusal of malformed tags. Pure functions, no DOM.

const PREFIX = 'neuralwrap:';
// Python: ^neuralwrap:(?P<model>[A-Za-z0-9_.\-]+)@(?P<version>[A-Za-z0-9_.\-]+);q=(?P<q>\d{1,3})$
// (Python's \d on str is any Unicode decimal digit, category Nd: \p{Nd} here.)
const TAG_RE = /^neuralwrap:([A-Za-z0-9_.\-]+)@([A-Za-z0-9_.\-]+);q=(\p{Nd}{1,3})$/u;
// Python's str.strip(): the characters for which str.isspace() is true.
const PY_SPACE = '[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP_RE = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'g');
// Python: \bnw:([A-Za-z_][A-Za-z0-9_.\-]*)=(['"])(.*?)\2 with re.S (\b: Unicode word boundary)
const XMP_RE = /(?<![\p{L}\p{N}_])nw:([A-Za-z_][A-Za-z0-9_.\-]*)=(['"])([\s\S]*?)\2/gu;
const XMP_APP1_ID = 'http://ns.adobe.com/xap/1.0/\u0000';
const ND_RE = /^\p{Nd}$/u;

/** A file whose header or tag cannot be read: the message says what is wrong. */
export class TagError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TagError';
  }
}

/** Python's str.strip() (not String.prototype.trim, whose whitespace set differs). */
export function pyStrip(text) {
  return text.replace(PY_STRIP_RE, '');
}

/** Value 0-9 of one Unicode decimal digit (Nd digits come in runs of ten that start at zero). */
function digitValue(ch) {
  const cp = ch.codePointAt(0);
  let start = cp;
  while (start > 0 && ND_RE.test(String.fromCodePoint(start - 1))) start -= 1;
  return (cp - start) % 10;
}

/**
 * The tag in `text`: `{model, version, quality}`, or null when `text` is not a neuralwrap tag (empty, or not
 * starting with `neuralwrap:`). A text that starts like a tag but does not match throws TagError.
 */
export function parseTag(text) {
  if (!text || !text.startsWith(PREFIX)) return null;
  const m = TAG_RE.exec(pyStrip(text));
  if (m === null) {
    throw new TagError(`malformed neuralwrap tag in file metadata: ${JSON.stringify(text.slice(0, 80))}`);
  }
  let quality = 0;
  for (const ch of m[3]) quality = 10 * quality + digitValue(ch);
  return { model: m[1], version: m[2], quality };
}

/** The tag string of `{model, version, quality}`. */
export function tagText(tag) {
  return `${PREFIX}${tag.model}@${tag.version};q=${tag.quality}`;
}

/** xml.sax.saxutils.unescape(value, {"&quot;": '"', "&apos;": "'"}), in Python's order. */
function xmlUnescape(value) {
  return value
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

/** The `nw:` properties of an XMP packet (text), as neuralwrap writes them; the last of a name wins. */
export function xmpProperties(text) {
  const out = {};
  for (const m of text.matchAll(XMP_RE)) out[m[1]] = xmlUnescape(m[3]);
  return out;
}

const UTF8 = new TextDecoder('utf-8'); // invalid bytes become U+FFFD, like Python's errors="replace"
const LATIN1 = new TextDecoder('latin1');

function hex(marker) {
  return `0x${marker.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * Header of a JPEG file (`Uint8Array` or `ArrayBuffer`), up to its first scan, without decoding pixels:
 * `{comment, xmp, width, height, components}` (comment/xmp: text of the last COM marker / XMP APP1 segment,
 * null when absent or empty; width/height/components from the frame header). Throws TagError for data that is
 * not a JPEG or whose header is truncated or corrupt.
 */
export function jpegHeader(data) {
  const b = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (b.length < 3 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) {
    throw new TagError('not a JPEG file (it does not start with the JPEG start-of-image marker)');
  }
  const out = { comment: null, xmp: null, width: 0, height: 0, components: 0 };
  let i = 2;
  for (;;) {
    while (i < b.length && b[i] !== 0xff) i += 1; // junk between segments (tolerated, as libjpeg does)
    while (i < b.length && b[i] === 0xff) i += 1; // fill bytes
    if (i >= b.length) {
      throw new TagError('truncated JPEG file: the header ends before the image data');
    }
    const marker = b[i];
    i += 1;
    if (marker === 0x00 || marker === 0x01 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9) throw new TagError('corrupt JPEG file: end-of-image marker before any image data');
    if (i + 2 > b.length) throw new TagError(`truncated JPEG file: segment ${hex(marker)} has no length`);
    const length = (b[i] << 8) | b[i + 1];
    if (length < 2) throw new TagError(`corrupt JPEG file: segment ${hex(marker)} has length ${length}`);
    const start = i + 2;
    const end = i + length;
    if (end > b.length) throw new TagError(`truncated JPEG file: segment ${hex(marker)} runs past the end`);
    const body = b.subarray(start, end);
    if (marker === 0xfe) {
      out.comment = body.length ? UTF8.decode(body) : null;
    } else if (marker === 0xe1 && body.length > XMP_APP1_ID.length) {
      if (LATIN1.decode(body.subarray(0, XMP_APP1_ID.length)) === XMP_APP1_ID) {
        const packet = body.subarray(XMP_APP1_ID.length);
        out.xmp = packet.length ? UTF8.decode(packet) : null;
      }
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (body.length < 6) throw new TagError(`corrupt JPEG file: frame header ${hex(marker)} is too short`);
      out.height = (body[1] << 8) | body[2];
      out.width = (body[3] << 8) | body[4];
      out.components = body[5];
    } else if (marker === 0xda) {
      if (out.components === 0) throw new TagError('corrupt JPEG file: image data before the frame header');
      return out;
    }
    i = end;
  }
}

/**
 * True when JPEG bytes end inside the image data: no end-of-image marker after the first scan marker (the check
 * neuralwrap's Python decoder makes, since browsers and libjpeg would pad such a file with gray silently).
 */
export function jpegTruncated(data) {
  const b = data instanceof Uint8Array ? data : new Uint8Array(data);
  let sos = -1;
  for (let i = 0; i + 1 < b.length; i += 1) {
    if (b[i] === 0xff && b[i + 1] === 0xda) {
      sos = i;
      break;
    }
  }
  for (let i = b.length - 2; i >= 0; i -= 1) {
    if (b[i] === 0xff && b[i + 1] === 0xd9) return i < sos;
  }
  return -1 < sos;
}

/**
 * The sandwich tag of a JPEG file, `{model, version, quality}`, or null for a plain JPEG. The COM marker is
 * read first, then the XMP `nw:sandwich` property. Throws TagError for a corrupt header or a malformed tag.
 */
export function readTag(data) {
  const header = jpegHeader(data);
  const fromXmp = header.xmp === null ? null : (xmpProperties(header.xmp).sandwich ?? null);
  for (const text of [header.comment, fromXmp]) {
    const tag = parseTag(text);
    if (tag !== null) return tag;
  }
  return null;
}
