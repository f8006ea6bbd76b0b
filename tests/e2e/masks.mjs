// Reading and comparing 8-bit masks (255 = tumor) written as PNG.
import { readFileSync } from 'node:fs';
import pngjs from 'pngjs';

const { PNG } = pngjs;

/** `{ width, height, on: Uint8Array }`, `on[i]` = 1 where the mask marks tumor. */
export function readMask(path) {
  const png = PNG.sync.read(readFileSync(path));
  const on = new Uint8Array(png.width * png.height);
  for (let i = 0; i < on.length; i++) {
    on[i] = png.data[4 * i] > 127 ? 1 : 0; // pngjs expands gray to RGBA
  }
  return { width: png.width, height: png.height, on };
}

/** Fraction of pixels on which two masks agree, and their tumor fractions. */
export function agreement(a, b) {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`mask sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  let same = 0;
  let onA = 0;
  let onB = 0;
  for (let i = 0; i < a.on.length; i++) {
    same += a.on[i] === b.on[i] ? 1 : 0;
    onA += a.on[i];
    onB += b.on[i];
  }
  const n = a.on.length;
  return { agree: same / n, tumorA: onA / n, tumorB: onB / n };
}

/** Width and height of a PNG file. */
export function pngSize(path) {
  const png = PNG.sync.read(readFileSync(path));
  return { width: png.width, height: png.height };
}

/** Number of files in a zip archive (its local file headers). */
export function zipEntries(path) {
  const bytes = readFileSync(path);
  let count = 0;
  for (let i = bytes.indexOf('PK\x03\x04'); i >= 0; i = bytes.indexOf('PK\x03\x04', i + 4)) {
    count++;
  }
  return count;
}

/** The entries of a zip archive written with stored (uncompressed) entries, as the page's
 * downloads are: `[{ name, bytes }]` from the local file headers. */
export function zipFiles(path) {
  const bytes = readFileSync(path);
  const files = [];
  for (let i = 0; i + 30 <= bytes.length && bytes.readUInt32LE(i) === 0x04034b50; ) {
    const method = bytes.readUInt16LE(i + 8);
    const size = bytes.readUInt32LE(i + 18);
    const nameLen = bytes.readUInt16LE(i + 26);
    const extraLen = bytes.readUInt16LE(i + 28);
    const name = bytes.subarray(i + 30, i + 30 + nameLen).toString('utf8');
    const start = i + 30 + nameLen + extraLen;
    if (method !== 0) throw new Error(`${name}: compression method ${method}, expected stored`);
    files.push({ name, bytes: bytes.subarray(start, start + size) });
    i = start + size;
  }
  return files;
}

/** `readMask` of PNG bytes in memory. */
export function readMaskBytes(bytes) {
  const png = PNG.sync.read(bytes);
  const on = new Uint8Array(png.width * png.height);
  for (let i = 0; i < on.length; i++) {
    on[i] = png.data[4 * i] > 127 ? 1 : 0;
  }
  return { width: png.width, height: png.height, on };
}
