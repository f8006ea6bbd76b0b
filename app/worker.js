// A segmentation worker: its own instance of the page's WebAssembly (the module compiled once by
// boot.js and handed over), its own copy of the model, one job at a time. The page's main thread
// only draws (app/src/worker/pool.rs). A trap inside the wasm (a Rust panic, running out of
// memory) ends this worker: the page replaces it and reports the file it was working on.
let wasm = null;

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'init') {
      wasm = await import(msg.js);
      await wasm.default({ module_or_path: msg.module });
      self.postMessage(await wasm.worker_start(msg.device, msg.timed, msg.testHooks));
    } else {
      const [reply, transfer] = await wasm.worker_job(msg);
      self.postMessage(reply, transfer);
    }
  } catch (e) {
    self.postMessage({ type: 'crashed', id: msg.id, reason: String(e?.message ?? e) });
    self.close();
  }
};
