// Where the page's main thread spends its time while the workers segment a study: drops a
// folder of numbered slices on the page (CPU workers), records Chromium's CPU profile and the
// long tasks (PerformanceObserver), and prints the long tasks and the functions with the most
// time (inclusive and self). Function names need a build that keeps them: the `web` profile
// strips them; relink the page's wasm without stripping and run wasm-bindgen on it by hand:
//   CARGO_TARGET_DIR=target/web CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
//     cargo rustc --profile web --target wasm32-unknown-unknown --manifest-path app/Cargo.toml \
//     --bin brainseg-app --features simd -- -C strip=none
//   then, in a copy of dist/: wasm-bindgen --target web --no-typescript --out-dir . --out-name
//   <the copy's brainseg-app-HASH> target/web/wasm32-unknown-unknown/web/brainseg-app.wasm, and
//   gzip -9 -n the _bg.wasm.
//   node bench/browser/main-thread.mjs [--dist dist] [--folder test-artifacts/e2e/numbered] [--top 30] [--workers N] [--view]
// --view: then opens the study in the study viewer and scrolls through it (arrow keys), and
// prints the long tasks of that too. A study of the size scanners write (96 slices of 512x512,
// 49 MB of DICOM): target/release/examples/phantom --series /tmp/big 512 11 96, --folder /tmp/big.
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { launch, waitReady } from '../../tests/e2e/page.mjs';
import { serve } from '../../tests/e2e/server.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
// Defaults relative to this file, so it runs from any folder (the README runs it from the root).
const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(arg('dist', resolve(HERE, '../../dist')));
const FOLDER = resolve(arg('folder', resolve(HERE, '../../test-artifacts/e2e/numbered')));
const TOP = Number(arg('top', '30'));
const VIEW = process.argv.includes('--view');
// The viewer's layout while scrolling: a button's test id (`layout-axial`, `layout-3-planes-3d`...).
const LAYOUT = arg('layout', '');
// `?workers=N` on the page's address (default: one per core).
const WORKERS = arg('workers', '');

/** Resident memory of all Chromium processes together, in MiB. */
function chromiumMiB() {
  const out = execFileSync('ps', ['-C', 'chromium', '-o', 'rss='], { encoding: 'utf8' });
  return Math.round(out.split('\n').filter(Boolean).reduce((s, l) => s + Number(l), 0) / 1024);
}

const server = await serve(DIST);
const browser = await launch({ webgpu: false });
try {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/?device=cpu${WORKERS ? `&workers=${WORKERS}` : ''}`);
  console.log(`backend: ${await waitReady(page, 300_000)}`);
  await page.waitForFunction(() => !/ready\)/.test(document.querySelector('[data-testid=workers]')?.textContent ?? 'ready)'), null, { timeout: 300_000 });
  await page.evaluate(() => {
    globalThis.longTasks = [];
    globalThis.longTaskTimes = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) {
        globalThis.longTasks.push(Math.round(e.duration));
        globalThis.longTaskTimes.push(Math.round(e.startTime));
      }
    }).observe({ type: 'longtask' });
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const start = Date.now();
  const dropAt = await page.evaluate(() => performance.now());
  await page.setInputFiles('[data-testid=folder-input]', FOLDER);
  await page.waitForFunction(() => {
    const panels = [...document.querySelectorAll('[data-testid=study-summary]')];
    return panels.length === 1 && /mL|%/.test(panels[0].querySelector('[data-testid=study-volume]').textContent);
  }, null, { timeout: 900_000, polling: 500 });
  console.log(`study: ${Date.now() - start} ms from the drop to its figures`);
  const { profile } = await cdp.send('Profiler.stop');
  const at = (await page.evaluate(() => globalThis.longTaskTimes)).map((t) => Math.round(t - dropAt));
  console.log(`long tasks (ms): ${JSON.stringify(await page.evaluate(() => globalThis.longTasks))}, starting ${JSON.stringify(at)} ms after the drop`);
  console.log(`Chromium, all processes: ${chromiumMiB()} MiB resident after the study`);
  report(profile);
  if (VIEW) {
    await page.evaluate(() => (globalThis.longTasks = []));
    await cdp.send('Profiler.start');
    const open = Date.now();
    await page.click('[data-testid=view-study]');
    await page.waitForFunction(() => /Slice \d+ of/.test(document.querySelector('[data-testid=viewer-slice]')?.textContent ?? ''), null, { timeout: 600_000, polling: 250 });
    console.log(`viewer: open after ${Date.now() - open} ms; long tasks (ms): ${JSON.stringify(await page.evaluate(() => globalThis.longTasks))}`);
    report((await cdp.send('Profiler.stop')).profile);
    if (LAYOUT) await page.click(`[data-testid=${LAYOUT}]`);
    await page.waitForTimeout(2000);
    await page.evaluate(() => (globalThis.longTasks = []));
    await page.focus('[data-testid=study-viewer]');
    const scroll = Date.now();
    for (let k = 0; k < 20; k++) await page.keyboard.press('ArrowUp');
    await page.waitForTimeout(1000);
    console.log(`viewer (${LAYOUT || 'as opened'}): 20 slices scrolled in ${Date.now() - scroll} ms; long tasks (ms): ${JSON.stringify(await page.evaluate(() => globalThis.longTasks))}`);
    console.log(`Chromium, all processes: ${chromiumMiB()} MiB resident with the viewer open`);
  }
} finally {
  await browser.close();
  await server.close();
}

/** Inclusive and self time per function name over the profile's samples (idle left out). */
function report(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n) => (n.callFrame.functionName || '(anonymous)').slice(0, 110);
  const inclusive = new Map();
  const self = new Map();
  const add = (map, k, v) => map.set(k, (map.get(k) ?? 0) + v);
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    if (['(idle)', '(program)', '(garbage collector)'].includes(name(nodes.get(id)))) return;
    add(self, name(nodes.get(id)), ms);
    const seen = new Set();
    for (let x = id; x !== undefined; x = parent.get(x)) {
      const n = name(nodes.get(x));
      if (!seen.has(n)) add(inclusive, n, ms);
      seen.add(n);
    }
  });
  const top = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([k, v]) => `${v.toFixed(0).padStart(8)} ms  ${k}`).join('\n');
  console.log(`main thread, inclusive:\n${top(inclusive)}\nmain thread, self:\n${top(self)}`);
}
