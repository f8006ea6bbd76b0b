// End-to-end test of the built page (dist/) in Debian's Chromium, once on WebGPU (SwiftShader)
// and once on the CPU fallback. Inputs come from scripts/test-e2e.sh: a synthetic phantom PNG and
// the mask `brainseg segment` made of it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { agreement, pngSize, readMask, readMaskBytes, zipEntries, zipFiles } from './masks.mjs';
import { dropFiles, foreign, launch, networkAfter, recordRequests, waitReady, waitSegmented } from './page.mjs';
import { serve } from './server.mjs';
import { openViewer, viewerEdits } from './viewer.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = resolve(process.env.DIST ?? join(ROOT, 'dist'));
const ART = resolve(process.env.ARTIFACTS ?? join(ROOT, 'test-artifacts/e2e'));
const PHANTOM = resolve(process.env.PHANTOM ?? join(ART, 'phantom.png'));
const CLI_MASK = resolve(process.env.CLI_MASK ?? join(ART, 'cli/phantom_pred.png'));
const SCANS = resolve(process.env.SCANS ?? join(ART, 'scans'));
const CLI_SCANS = resolve(process.env.CLI_SCANS ?? join(ART, 'cli-scans.jsonl'));
const NUMBERED = resolve(process.env.NUMBERED ?? join(ART, 'numbered'));
const CLI_NUMBERED = resolve(process.env.CLI_NUMBERED ?? join(ART, 'cli-numbered'));
const SEG_SERIES = resolve(process.env.SEG_SERIES ?? join(ART, 'phantom-series'));
const CLI_SEG = resolve(process.env.CLI_SEG ?? join(ART, 'cli-seg.jsonl'));
const PYTHON = resolve(process.env.PYTHON ?? join(ROOT, '.venv-dicom/bin/python'));
// Model download and first-run shader compilation on a software GPU take a while.
const READY_MS = 240_000;
const SLICE_MS = 120_000;
const STUDY_MS = 900_000;

// The scans (four 12-slice studies) run on the CPU fallback only: reading studies does not depend
// on the backend, and on SwiftShader, a GPU emulated on these 2 CPU cores, the shipped width-32
// network takes tens of seconds a slice. WebGPU's masks are still checked against the CLI's.
// The WebGPU mode asks for WebGPU (`?device=webgpu`): left to choose, the page skips a software
// adapter for its CPU workers, which it checks first (`autoSkipsSoftware`).
const MODES = [
  { name: 'webgpu', webgpu: true, expect: /^WebGPU/, query: '?device=webgpu', scans: false },
  { name: 'cpu', webgpu: false, expect: /^CPU/, query: '?test-hooks', scans: true },
];
// The page's longest main-thread task while the workers segment a study (PerformanceObserver).
const LONGTASK_MS = 100;
// A replaced worker (after the crash tests) fetches the page's own files again: worker.js, the
// wasm-bindgen glue and the model; the study viewer's script comes when a study is first viewed.
// Those GETs are allowed after a drop; anything else is not.
const PAGE_FILE = /\/(worker\.js|brainseg-app-[0-9a-f]+\.js|brainseg\.bsm\.gz|niivue\.umd\.js)$/;
const late = (requests, time) => networkAfter(requests, time).filter((r) => !PAGE_FILE.test(r.url));

class Failures {
  list = [];
  check(ok, what) {
    if (!ok) this.list.push(what);
    return ok;
  }
}

async function segmentOne(page, failures, mode) {
  await page.setInputFiles('[data-testid=file-input]', PHANTOM);
  await waitSegmented(page, 1, SLICE_MS);
  const coverage = await page.locator('[data-testid=coverage]').innerText();
  const millis = await page.locator('[data-testid=millis]').innerText();
  failures.check(/^\d+\.\d\d%$/.test(coverage), `no coverage figure shown (got "${coverage}")`);
  const mask = await download(page, 'save-mask', mode);
  failures.check(mask.name === 'phantom_pred.png', `mask named ${mask.name}`);
  const cmp = agreement(readMask(mask.path), readMask(CLI_MASK));
  failures.check(cmp.agree >= 0.99, `page and CLI masks agree on only ${(100 * cmp.agree).toFixed(2)}% of pixels`);
  const overlay = await download(page, 'save-overlay', mode);
  const size = pngSize(overlay.path);
  failures.check(overlay.name === 'phantom_overlay.png', `overlay named ${overlay.name}`);
  failures.check(size.width === 256 && size.height === 256, `overlay is ${size.width}x${size.height}`);
  return { coverage, millis, cmp };
}

async function download(page, testId, mode) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid=${testId}]`)]);
  const path = join(ART, `${mode.name}_${file.suggestedFilename()}`);
  await file.saveAs(path);
  return { name: file.suggestedFilename(), path };
}

/** A higher threshold re-renders the slice (no network run) with no more tumor than before. */
async function thresholdSlider(page, failures) {
  const slider = page.locator('[data-testid=threshold]');
  const before = await slider.inputValue();
  const coverage = async () => parseFloat(await page.locator('[data-testid=coverage]').innerText());
  const atDefault = await coverage();
  await slider.fill('0.95');
  await page.waitForFunction(() => document.querySelectorAll('.slider output')[1]?.textContent === '0.95');
  const atHigh = await coverage();
  failures.check(atHigh <= atDefault, `coverage rose from ${atDefault}% to ${atHigh}% at threshold 0.95`);
  await slider.fill(before);
  return `${atDefault}% at ${before}, ${atHigh}% at 0.95`;
}

/** A dropped folder's images are taken, its *_mask.* and non-image files skipped. */
async function folderPick(page, failures, doneBefore) {
  const dir = join(ART, 'folder');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  copyFileSync(PHANTOM, join(dir, 'slice_1.png'));
  copyFileSync(PHANTOM, join(dir, 'sub', 'slice_2.png'));
  copyFileSync(CLI_MASK, join(dir, 'slice_1_mask.png'));
  writeFileSync(join(dir, 'notes.txt'), 'not a slice\n');
  await page.setInputFiles('[data-testid=folder-input]', dir);
  await waitSegmented(page, doneBefore + 2, SLICE_MS);
  const failed = await page.locator('[data-testid=failed-count]').innerText();
  failures.check(failed === '1', `folder pick: ${failed} unreadable (the mask and text file should be skipped)`);
}

async function exampleAndZip(page, failures, mode, doneBefore) {
  await page.click('[data-testid=example]');
  await waitSegmented(page, doneBefore + 1, SLICE_MS);
  const zip = await download(page, 'save-all', mode);
  const entries = zipEntries(zip.path);
  failures.check(zip.name === 'brainseg_masks.zip', `zip named ${zip.name}`);
  failures.check(entries === doneBefore + 1, `zip holds ${entries} masks, expected ${doneBefore + 1}`);
}

/** Study panels once `count` exist and all have their figures. */
async function waitStudies(page, count) {
  await page.waitForFunction(
    (n) => {
      const panels = [...document.querySelectorAll('[data-testid=study-summary]')];
      return panels.length === n && panels.every((p) => /mL|%/.test(p.querySelector('[data-testid=study-volume]').textContent));
    },
    count,
    { timeout: STUDY_MS },
  );
  return page.$$eval('[data-testid=study-summary]', (panels) =>
    panels.map((p) => ({
      label: p.querySelector('h2').textContent,
      mode: p.querySelector('[data-testid=study-mode]').textContent,
      volume: p.querySelector('[data-testid=study-volume]').textContent,
      slices: p.querySelector('[data-testid=study-slices]').textContent,
    })),
  );
}

/** A DICOM series (PACS-style names, out of order), a NIfTI volume, a zipped JPEG Lossless
 * series (CD-style folders, DICOMDIR) and an Enhanced MR multi-frame file, all synthetic: study
 * panels appear, their figures match `brainseg segment` on the same files, the NIfTI downloads. */
async function scans(page, failures, mode) {
  const start = Date.now();
  await page.setInputFiles('[data-testid=folder-input]', join(SCANS, 'dicom'));
  await waitStudies(page, 1);
  await page.setInputFiles('[data-testid=file-input]', join(SCANS, 'flair.nii.gz'));
  await waitStudies(page, 2);
  await page.setInputFiles('[data-testid=file-input]', join(SCANS, 'compressed.zip'));
  await waitStudies(page, 3);
  await page.setInputFiles('[data-testid=file-input]', join(SCANS, 'enhanced.dcm'));
  const panels = await waitStudies(page, 4);
  failures.check(panels.some((p) => /JPEG/.test(p.label)), `no study panel for the zipped JPEG series: ${panels.map((p) => p.label)}`);
  failures.check(panels.some((p) => /ENHANCED/.test(p.label)), `no study panel for the Enhanced MR file: ${panels.map((p) => p.label)}`);
  const cli = readFileSync(CLI_SCANS, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  for (const panel of panels) {
    const twin = cli.find((c) => c.study === panel.label);
    if (!failures.check(twin, `no CLI result for study "${panel.label}"`)) continue;
    const slices = twin.summary.slices;
    failures.check(panel.slices.endsWith(`of ${slices}`), `${panel.label}: slices "${panel.slices}", CLI has ${slices}`);
    failures.check(/FLAIR only/.test(panel.mode), `${panel.label}: mode "${panel.mode}"`);
    const ml = parseFloat(panel.volume);
    const want = twin.summary.volume_ml;
    failures.check(Math.abs(ml - want) <= 0.05 + 0.05 * want, `${panel.label}: page ${ml} mL, CLI ${want} mL`);
  }
  const nifti = await download(page, 'save-nifti', mode);
  const bytes = readFileSync(nifti.path);
  failures.check(nifti.name.endsWith('_mask.nii.gz') && bytes[0] === 0x1f && bytes[1] === 0x8b, `NIfTI download ${nifti.name}`);
  return { panels, studyMs: Date.now() - start };
}

/** A folder of numbered phantom slices (on which the model finds tumor) becomes one study; its
 * figures and every slice's mask (3D step included) equal `brainseg segment` on the folder. */
async function numberedStudy(page, failures, mode, studiesBefore) {
  const tasks = await watchLongTasks(page);
  const start = Date.now();
  await page.setInputFiles('[data-testid=folder-input]', NUMBERED);
  const panels = await waitStudies(page, studiesBefore + 1);
  const studyMs = Date.now() - start;
  const longest = await tasks.longest();
  // The workers make the masks and the 3D step; the main thread only draws, even with both
  // cores busy in the workers.
  failures.check(longest < LONGTASK_MS, `numbered study: the main thread was blocked for ${longest.toFixed(0)} ms at once (limit ${LONGTASK_MS} ms)`);
  const panel = panels.find((p) => /case_$/.test(p.label));
  if (!failures.check(panel, `no study panel for the numbered folder: ${panels.map((p) => p.label)}`)) return {};
  const line = readFileSync(join(CLI_NUMBERED, 'stdout.txt'), 'utf8').split('\n').find((l) => /numbered slices as one volume/.test(l));
  const [, withTumor, total] = /on (\d+)\/(\d+) slices/.exec(line ?? '') ?? [];
  failures.check(withTumor > 0, `the CLI found no tumor in the numbered folder: "${line}"`);
  failures.check(panel.slices === `${withTumor} of ${total}`, `numbered study: page "${panel.slices}", CLI ${withTumor}/${total}`);
  const section = `section[aria-label="Study ${panel.label}"]`;
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(`${section} [data-testid=save-study-pngs]`)]);
  const path = join(ART, `${mode.name}_${file.suggestedFilename()}`);
  await file.saveAs(path);
  const masks = zipFiles(path);
  failures.check(masks.length === Number(total), `numbered study zip holds ${masks.length} masks, expected ${total}`);
  let worst = 1;
  masks.forEach((m, k) => {
    const cmp = agreement(readMaskBytes(m.bytes), readMask(join(CLI_NUMBERED, `case_${k + 1}_pred.png`)));
    worst = Math.min(worst, cmp.agree);
  });
  failures.check(worst >= 0.99, `numbered study: page and CLI masks agree on only ${(100 * worst).toFixed(2)}% of pixels`);
  return {
    numbered:
      `${panel.label}: ${panel.slices} slices with tumor, ${panel.volume}; masks agree >= ${(100 * worst).toFixed(2)}%; ` +
      `${studyMs} ms, longest main-thread task ${longest.toFixed(0)} ms`,
  };
}

/** A DICOM series of phantom slices (on which the model finds tumor): the study panel's DICOM SEG
 * download holds the same frames, positions and references as the CLI's seg.dcm (highdicom
 * reads both, and both equal the CLI's mask.nii.gz), under UIDs of its own. */
async function segStudy(page, failures, mode, studiesBefore) {
  const cli = JSON.parse(readFileSync(CLI_SEG, 'utf8').trim());
  await page.setInputFiles('[data-testid=folder-input]', SEG_SERIES);
  const panels = await waitStudies(page, studiesBefore + 1);
  const panel = panels.find((p) => p.label === cli.study);
  if (!failures.check(panel, `no study panel "${cli.study}": ${panels.map((p) => p.label)}`)) return {};
  const { slices_with_tumor: withTumor, slices } = cli.summary;
  failures.check(withTumor > 0 && cli.seg_dicom, `the CLI wrote no SEG for the phantom series: ${JSON.stringify(cli)}`);
  failures.check(panel.slices === `${withTumor} of ${slices}`, `SEG study: page "${panel.slices}", CLI ${withTumor}/${slices}`);
  const section = `section[aria-label="Study ${panel.label}"]`;
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(`${section} [data-testid=save-seg]`)]);
  const path = join(ART, `${mode.name}_${file.suggestedFilename()}`);
  await file.saveAs(path);
  failures.check(file.suggestedFilename().endsWith('_seg.dcm'), `SEG download named ${file.suggestedFilename()}`);
  try {
    // The CLI's paths are relative to the repository root, where test-e2e.sh ran it.
    const [cliSeg, cliNifti] = [resolve(ROOT, cli.seg_dicom), resolve(ROOT, cli.mask_nifti)];
    const out = execFileSync(PYTHON, [join(ROOT, 'tests/standard_tools/check_seg.py'), cliSeg, SEG_SERIES, cliNifti, path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { seg: out.trim().split('\n').pop() };
  } catch (e) {
    failures.check(false, `page SEG vs CLI SEG: ${(e.stderr || e.stdout || e.message).trim()}`);
    return {};
  }
}

/** A numbered folder and a NIfTI volume open in the study viewer too. */
async function viewerOthers(page, failures) {
  const labels = await page.$$eval('[data-testid=study-summary] h2', (h) => h.map((e) => e.textContent));
  const wanted = [labels.find((l) => /case_$/.test(l)), labels.find((l) => /\.nii/i.test(l))];
  const opened = [];
  for (const label of wanted) {
    if (!failures.check(label, `no study to view among ${labels}`)) continue;
    try {
      await openViewer(page, label);
      opened.push(`${label}: ${await page.locator('[data-testid=viewer-slice]').innerText()}`);
    } catch (e) {
      failures.check(false, `viewer on ${label}: ${e.message.split('\n')[0]}`);
    }
  }
  return opened.join('; ');
}

/** Left to choose on SwiftShader, the page uses its CPU workers and says why. */
async function autoSkipsSoftware(page, server, failures) {
  await page.goto(`${server.origin}/`);
  const backend = await waitReady(page, READY_MS);
  const why = await page.locator('[data-testid=backend-why]').innerText().catch(() => '');
  failures.check(/^CPU/.test(backend) && /software/.test(why), `auto device on SwiftShader: "${backend}" (${why})`);
  return `${backend}, ${await page.locator('[data-testid=workers]').innerText()} (${why})`;
}

/** Starts recording the page's long main-thread tasks; `longest()` reads the longest so far. */
async function watchLongTasks(page) {
  await page.evaluate(() => {
    globalThis.longTasks = [];
    new PerformanceObserver((list) => globalThis.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
  });
  return { longest: () => page.evaluate(() => Math.max(0, ...globalThis.longTasks)) };
}

/** A worker killed mid-study and a file whose decoder panics (test hooks) cost nothing else: the
 * killed worker's slice is retried, the panicking file is reported, the page goes on. */
async function workerFailures(page, failures, doneBefore, failedBefore) {
  // Named without a slice number: lone slices, not a numbered study.
  const copies = ['a', 'b', 'c', 'd'].map((k) => ({ name: `again-${k}.png`, type: 'image/png', bytes: readFileSync(PHANTOM) }));
  await dropFiles(page, [...copies, { name: 'panic.png', type: 'image/png', bytes: Buffer.from('BRAINSEG-TEST-PANIC\n') }]);
  await page.waitForFunction(() => globalThis.brainsegTest.killWorker(), null, { timeout: SLICE_MS, polling: 50 });
  await waitSegmented(page, doneBefore + 4, SLICE_MS);
  const failed = await page.locator('[data-testid=failed-count]').innerText();
  const row = await page.locator('li.failed', { hasText: 'panic.png' }).innerText().catch(() => '');
  failures.check(failed === String(failedBefore + 1), `worker failures: ${failed} unreadable, expected ${failedBefore + 1}`);
  failures.check(/crashed/.test(row) && /test hook/.test(row), `the panicking file's row: "${row}"`);
  return `killed worker: its slice retried; panic: "${row.split('\n').pop()}"`;
}

async function badAndGoodInOneDrop(page, failures) {
  await dropFiles(page, [
    { name: 'x.png', type: 'image/png', bytes: Buffer.from('this is a text file, not a PNG\n') },
    { name: 'phantom-again.png', type: 'image/png', bytes: readFileSync(PHANTOM) },
  ]);
  await waitSegmented(page, 2, SLICE_MS);
  const failed = await page.locator('[data-testid=failed-count]').innerText();
  const row = await page.locator('li.failed').first().innerText().catch(() => '');
  failures.check(failed === '1', `expected 1 unreadable file, page says ${failed}`);
  failures.check(/x\.png/.test(row) && /not an image/i.test(row), `no friendly message for x.png (row: "${row}")`);
}

async function offlineReload(page, server, requests, failures) {
  // Online through the service worker first: it refreshes (and prunes) its copy.
  await page.reload();
  await waitReady(page, READY_MS);
  await server.close(); // from here on, only the service worker can answer
  await page.reload();
  const backend = await waitReady(page, READY_MS);
  const dropAt = Date.now();
  await page.setInputFiles('[data-testid=file-input]', PHANTOM);
  await waitSegmented(page, 1, SLICE_MS);
  failures.check(late(requests, dropAt).length === 0, 'requests after the offline drop');
  return backend;
}

async function runMode(mode) {
  const failures = new Failures();
  const server = await serve(DIST);
  const browser = await launch(mode);
  const context = await browser.newContext({ acceptDownloads: true });
  const requests = recordRequests(context);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
    else if (m.type() === 'error') console.log(`  [${mode.name}] console error: ${m.text()}`);
  });
  const report = { mode: mode.name };
  try {
    if (mode.webgpu) report.auto = await autoSkipsSoftware(page, server, failures);
    const start = Date.now();
    await page.goto(`${server.origin}/${mode.query}`);
    report.backend = await waitReady(page, READY_MS);
    report.workers = await page.locator('[data-testid=workers]').innerText();
    report.readyMs = Date.now() - start;
    failures.check(mode.expect.test(report.backend), `backend should match ${mode.expect}: "${report.backend}"`);
    // The offline cache fills right after the model loads; let it finish before the drop.
    const cached = await page.evaluate(() =>
      Promise.race([
        navigator.serviceWorker.ready.then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 60_000)),
      ]),
    );
    failures.check(cached, 'the service worker (offline cache) did not become ready');
    const dropAt = Date.now();
    Object.assign(report, await segmentOne(page, failures, mode));
    await page.screenshot({ path: join(ART, `${mode.name}.png`), fullPage: true });
    report.threshold = await thresholdSlider(page, failures);
    await badAndGoodInOneDrop(page, failures);
    await page.screenshot({ path: join(ART, `${mode.name}-unreadable.png`), fullPage: true });
    await folderPick(page, failures, 2);
    await exampleAndZip(page, failures, mode, 4);
    if (mode.scans) {
      report.workerFailures = await workerFailures(page, failures, 5, 1);
      Object.assign(report, await scans(page, failures, mode));
      Object.assign(report, await numberedStudy(page, failures, mode, 4));
      Object.assign(report, await segStudy(page, failures, mode, 5));
      const segLabel = JSON.parse(readFileSync(CLI_SEG, 'utf8').trim()).study;
      Object.assign(report, await viewerEdits(page, failures, { label: segLabel, art: ART, root: ROOT, python: PYTHON, series: SEG_SERIES }));
      report.viewerOthers = await viewerOthers(page, failures);
      await page.screenshot({ path: join(ART, `${mode.name}-scans.png`), fullPage: true });
    }
    const after = late(requests, dropAt);
    failures.check(after.length === 0, `requests after the drop: ${after.map((r) => r.url).join(', ')}`);
    report.offlineBackend = await offlineReload(page, server, requests, failures);
  } catch (e) {
    failures.check(false, `${e.message.split('\n')[0]}`);
    await page.screenshot({ path: join(ART, `${mode.name}-failed.png`), fullPage: true }).catch(() => {});
  } finally {
    await browser.close();
    await server.close();
  }
  const away = foreign(requests, server.origin);
  failures.check(away.length === 0, `requests to other origins: ${away.map((r) => r.url).join(', ')}`);
  // Only the workers fetch the model: seeing that request shows the check above covers them.
  failures.check(requests.some((r) => /brainseg\.bsm\.gz$/.test(r.url)), 'the workers\' model request was not recorded');
  problems.forEach((p) => failures.check(false, p));
  report.requests = requests.length;
  return { report, failures: failures.list };
}

function describe({ report: r, failures }) {
  const lines = [
    `${r.mode}: backend ${r.backend ?? '?'}, ${r.workers ?? '?'} (ready after ${r.readyMs ?? '?'} ms)`,
    ...(r.auto ? [`  left to choose: ${r.auto}`] : []),
    `  phantom: coverage ${r.coverage ?? '?'}, inference ${r.millis ?? '?'} per slice`,
    r.cmp
      ? `  mask vs brainseg segment: ${(100 * r.cmp.agree).toFixed(2)}% of pixels agree ` +
        `(tumor ${(100 * r.cmp.tumorA).toFixed(2)}% page, ${(100 * r.cmp.tumorB).toFixed(2)}% CLI)`
      : '  mask vs brainseg segment: not compared',
    `  threshold slider: ${r.threshold ?? 'not reached'}; folder pick, example and zip of all masks checked`,
    r.panels
      ? `  scans: ${r.panels.map((p) => `${p.label}: ${p.volume}, ${p.slices} slices with tumor`).join('; ')} (${r.studyMs} ms)`
      : `  scans: ${MODES.find((m) => m.name === r.mode)?.scans ? 'not reached' : 'checked on the CPU fallback only'}`,
    `  numbered folder: ${r.numbered ?? 'not reached'}`,
    ...(MODES.find((m) => m.name === r.mode)?.scans ? [`  worker failures: ${r.workerFailures ?? 'not reached'}`] : []),
    `  DICOM SEG download: ${r.seg ?? 'not reached'}`,
    ...(MODES.find((m) => m.name === r.mode)?.scans
      ? [`  study viewer: ${r.viewer ?? 'not reached'}`, `  viewer on other studies: ${r.viewerOthers ?? 'not reached'}`]
      : []),
    `  ${r.requests} requests, all to the page's origin: ${failures.every((f) => !f.startsWith('requests to'))}`,
    `  offline reload (server stopped, service worker): ${r.offlineBackend ? `ok, ${r.offlineBackend}` : 'not reached'}`,
    ...failures.map((f) => `  FAIL: ${f}`),
  ];
  return lines.join('\n');
}

mkdirSync(ART, { recursive: true });
const only = process.argv[2];
let failed = false;
for (const mode of MODES.filter((m) => !only || m.name === only)) {
  const result = await runMode(mode);
  console.log(describe(result));
  failed ||= result.failures.length > 0;
}
console.log(failed ? 'e2e: FAILED' : 'e2e: passed');
process.exit(failed ? 1 : 0);
