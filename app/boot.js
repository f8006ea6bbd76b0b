// Starts the page's WebAssembly. A file of its own rather than trunk's inline loader, so the
// Content-Security-Policy can forbid inline scripts. trunk writes the content-hashed names into
// the data- attributes of the <script> tag that loads this file (Trunk.toml).
//
// The wasm is shipped gzipped (a trunk hook) and inflated here, so the download stays small
// even where the host does not compress.
const tag = document.querySelector('script[data-wasm]');

async function fetchWasm(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  // A host that labels .gz files Content-Encoding: gzip has inflated it already.
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    return bytes;
  }
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(inflated).arrayBuffer();
}

try {
  const [{ default: init }, bytes] = await Promise.all([import(tag.dataset.js), fetchWasm(tag.dataset.wasm)]);
  // Compiled once here and handed to every segmentation worker (worker.js), which instantiate
  // it without downloading or compiling it again.
  const module = await WebAssembly.compile(bytes);
  globalThis.brainsegWasm = { module, js: new URL(tag.dataset.js, document.baseURI).href };
  await init({ module_or_path: module });
} catch (e) {
  const p = document.createElement('p');
  p.className = 'boot-error';
  p.textContent = `brainseg could not start in this browser: ${e.message ?? e}`;
  document.body.prepend(p);
  throw e;
}
