// Starts the page's WebAssembly. A file of its own rather than trunk's inline loader, so the
// Content-Security-Policy can forbid inline scripts. trunk writes the hashed names into the
// data- attributes of the <script> tag that loads this file.
const tag = document.querySelector('script[data-wasm]');
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
