// Browser half of the benchmarks: brainseg's page (CPU/wasm and WebGPU) against onnxruntime-web
// (WASM and WebGPU providers) running an ONNX export of the same weights, in Debian's headless
// Chromium. Rounds alternate the contenders; medians over rounds. Peak memory is the summed RSS
// of Chromium's processes, sampled every 200 ms.
// The study rows time a folder of STUDY numbered slices (one study) from the drop to its last
// slice on the page's CPU workers (1 and 2), against onnxruntime-web running the network that many
// times at 1 and 2 threads (its page served cross-origin isolated, so it gets its threads).
//   node run.mjs --onnx model.onnx --size 128 --phantom phantom.png --dist ../../dist [--rounds 2] [--runs 5] [--study 24] [--cpu-only]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

import { launch, waitReady, waitSegmented } from '../../tests/e2e/page.mjs';
import { serve } from '../../tests/e2e/server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ONNX = resolve(arg('onnx'));
const SIZE = Number(arg('size', '128'));
const PHANTOM = resolve(arg('phantom'));
const DIST = resolve(arg('dist', join(HERE, '../../dist')));
const ROUNDS = Number(arg('rounds', '2'));
const RUNS = Number(arg('runs', '5'));
const STUDY = Number(arg('study', '24'));
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** A folder that serves onnxruntime-web and the model, as a static host would. */
function ortSite() {
  const site = resolve(HERE, '../../target/bench/ort-site');
  mkdirSync(site, { recursive: true });
  const dist = join(HERE, 'node_modules/onnxruntime-web/dist');
  copyFileSync(join(HERE, 'ort.html'), join(site, 'index.html'));
  copyFileSync(join(dist, 'ort.all.min.js'), join(site, 'ort.all.min.js'));
  for (const f of readdirSync(dist).filter((f) => /^ort-wasm-simd-threaded\.(jsep\.)?(mjs|wasm)$/.test(f))) {
    copyFileSync(join(dist, f), join(site, f));
  }
  copyFileSync(ONNX, join(site, 'model.onnx'));
  return site;
}

/** Bytes a browser downloads for the page (raw and gzip), for the files a run needs. */
function download(dir, keep) {
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(dir).filter(keep)) {
    const bytes = readFileSync(join(dir, f));
    raw += bytes.length;
    gz += f.endsWith('.gz') ? bytes.length : gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gz };
}

function chromiumRssMb() {
  try {
    const out = execFileSync('ps', ['-C', 'chromium', '-o', 'rss='], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).reduce((s, x) => s + Number(x), 0) / 1024;
  } catch {
    return 0;
  }
}

async function measured(fn) {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, chromiumRssMb())), 200);
  try {
    return { ...(await fn()), peakMb: peak };
  } finally {
    clearInterval(timer);
  }
}

/** A folder of STUDY numbered copies of the phantom: one study to the page. */
function studyFolder() {
  const dir = resolve(HERE, '../../target/bench/study');
  mkdirSync(dir, { recursive: true });
  for (let k = 1; k <= STUDY; k++) copyFileSync(PHANTOM, join(dir, `bench_${k}.png`));
  return dir;
}

/** The page on one device (`?device=`, one worker): per-slice times as the page shows them. */
async function brainseg(webgpu) {
  const server = await serve(DIST);
  const browser = await launch({ webgpu });
  try {
    return await measured(async () => {
      const page = await browser.newPage();
      const start = Date.now();
      await page.goto(`${server.origin}/?device=${webgpu ? 'webgpu' : 'cpu'}&workers=1`);
      const backend = await waitReady(page, 300_000);
      const ready = Date.now() - start;
      const times = [];
      for (let i = 0; i <= RUNS; i++) {
        await page.setInputFiles('[data-testid=file-input]', PHANTOM);
        await waitSegmented(page, i + 1, 300_000);
        times.push(parseFloat(await page.locator('[data-testid=millis]').innerText()));
      }
      return { name: `brainseg ${webgpu ? 'WebGPU' : 'CPU (wasm)'}`, backend, created: ready, first: times[0], warm: median(times.slice(1)) };
    });
  } finally {
    await browser.close();
    await server.close();
  }
}

/** The page's CPU workers on a STUDY-slice study: wall time from the drop to the last slice. */
async function brainsegStudy(workers, folder) {
  const server = await serve(DIST);
  const browser = await launch({ webgpu: false });
  try {
    return await measured(async () => {
      const page = await browser.newPage();
      const start = Date.now();
      await page.goto(`${server.origin}/?device=cpu&workers=${workers}`);
      const backend = await waitReady(page, 300_000);
      await page.waitForFunction((n) => document.querySelector('[data-testid=workers]')?.textContent.startsWith(`${n} worker`) && !/ready\)/.test(document.querySelector('[data-testid=workers]').textContent), workers, { timeout: 300_000 });
      const created = Date.now() - start;
      const t = Date.now();
      await page.setInputFiles('[data-testid=folder-input]', folder);
      await waitSegmented(page, STUDY, 900_000);
      const wall = Date.now() - t;
      const workersText = await page.locator('[data-testid=workers]').innerText();
      return { name: `brainseg CPU study, ${workers} worker(s)`, backend: `${backend}, ${workersText}`, created, first: wall, warm: wall / STUDY };
    });
  } finally {
    await browser.close();
    await server.close();
  }
}

async function ort(provider, site, threads = 1, runs = RUNS) {
  const server = await serve(site, { isolated: threads > 1 });
  const browser = await launch({ webgpu: provider === 'webgpu' });
  try {
    return await measured(async () => {
      const page = await browser.newPage();
      await page.goto(`${server.origin}/`);
      const r = await page.evaluate(([p, s, n, t]) => window.runBench(p, s, n, t), [provider, SIZE, runs, threads]);
      const name = runs === RUNS ? `onnxruntime-web ${provider}${threads > 1 ? ` ${threads} threads` : ''}` : `onnxruntime-web study, ${threads} thread(s)`;
      return { name, backend: `${provider}, ${r.threads} thread(s)`, ...r, ...(runs === RUNS ? {} : { first: r.warm * STUDY }) };
    });
  } finally {
    await browser.close();
    await server.close();
  }
}

const site = ortSite();
// `--cpu-only` skips the WebGPU pair (minutes per round on a software adapter).
const CPU_ONLY = process.argv.includes('--cpu-only');
const folder = studyFolder();
const contenders = [
  ['brainseg CPU (wasm)', () => brainseg(false)],
  ['onnxruntime-web wasm', () => ort('wasm', site)],
  [`brainseg CPU study, 1 worker(s)`, () => brainsegStudy(1, folder)],
  [`brainseg CPU study, 2 worker(s)`, () => brainsegStudy(2, folder)],
  [`onnxruntime-web study, 1 thread(s)`, () => ort('wasm', site, 1, STUDY)],
  [`onnxruntime-web study, 2 thread(s)`, () => ort('wasm', site, 2, STUDY)],
  ['brainseg WebGPU', () => brainseg(true)],
  ['onnxruntime-web webgpu', () => ort('webgpu', site)],
].filter(([name]) => !CPU_ONLY || !name.includes('WebGPU') && !name.includes('webgpu'));
const results = new Map(contenders.map(([n]) => [n, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, run] of contenders) {
    console.error(`browser bench: round ${round}, ${name}`);
    try {
      results.get(name).push(await run());
    } catch (e) {
      console.error(`  ${name} failed: ${e.message.split('\n')[0]}`);
    }
  }
}
console.log(`browser, input ${SIZE}x${SIZE}, ${RUNS} warm runs per round, ${ROUNDS} rounds (medians over rounds)`);
console.log(`${'contender'.padEnd(24)} ${'ready/session ms'.padStart(16)} ${'first ms'.padStart(10)} ${'warm ms'.padStart(10)} ${'peak RSS MiB'.padStart(13)}  backend`);
const summary = {};
for (const [name, rs] of results) {
  if (!rs.length) {
    console.log(`${name.padEnd(24)} (no result)`);
    continue;
  }
  const m = (k) => median(rs.map((r) => r[k]));
  summary[name] = { warm: m('warm') };
  console.log(`${name.padEnd(24)} ${m('created').toFixed(0).padStart(16)} ${m('first').toFixed(0).padStart(10)} ${m('warm').toFixed(1).padStart(10)} ${m('peakMb').toFixed(0).padStart(13)}  ${rs[0].backend}`);
}
const ratio = (a, b) => (summary[a] && summary[b] ? `${(summary[b].warm / summary[a].warm).toFixed(2)}x` : 'n/a');
console.log(`brainseg/onnxruntime-web warm speed (>1: brainseg faster): CPU ${ratio('brainseg CPU (wasm)', 'onnxruntime-web wasm')}, WebGPU ${ratio('brainseg WebGPU', 'onnxruntime-web webgpu')}`);
console.log(
  `${STUDY}-slice study ("first ms" = wall time; "warm ms" = per slice): 2 workers vs 1 ${ratio('brainseg CPU study, 2 worker(s)', 'brainseg CPU study, 1 worker(s)')}; ` +
    `2 workers vs onnxruntime-web 2 threads ${ratio('brainseg CPU study, 2 worker(s)', 'onnxruntime-web study, 2 thread(s)')}; ` +
    `1 worker vs onnxruntime-web 1 thread ${ratio('brainseg CPU study, 1 worker(s)', 'onnxruntime-web study, 1 thread(s)')}`,
);
const page = download(DIST, (f) => statSync(join(DIST, f)).isFile());
const ortPage = download(site, () => true);
console.log(`page download: brainseg ${(page.raw / 1e6).toFixed(1)} MB (${(page.gz / 1e6).toFixed(1)} MB gzip); onnxruntime-web page (both providers' files + model) ${(ortPage.raw / 1e6).toFixed(1)} MB (${(ortPage.gz / 1e6).toFixed(1)} MB gzip)`);
console.log('note: brainseg times are per slice as the page shows them (resize to the model input, network, threshold and resize back); onnxruntime-web times are the network run alone.');
