// The study viewer: a study opened from its panel shows its volume and mask in three planes and
// 3D (red where the mask is, read off the canvas), scrolls, and takes corrections (an eraser
// stroke, a "not tumor" click, undo) that change the study's figures and its downloads.
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import pngjs from 'pngjs';

const { PNG } = pngjs;
const OPEN_MS = 180_000;
const EDIT_MS = 60_000;

/** Opens study `label` in the viewer and waits until it shows a slice. */
export async function openViewer(page, label) {
  await page.click(`section[aria-label="Study ${label}"] [data-testid=view-study]`);
  await page.waitForFunction(
    () => {
      const v = document.querySelector('[data-testid=study-viewer]');
      const status = v?.querySelector('[data-testid=viewer-status]')?.textContent ?? '';
      if (/cannot|not segmented/.test(status)) throw new Error(status);
      return v && !status && /Slice \d+ of \d+/.test(v.querySelector('[data-testid=viewer-slice]').textContent);
    },
    null,
    { timeout: OPEN_MS, polling: 250 },
  );
}

const sliceText = (page) => page.locator('[data-testid=viewer-slice]').innerText();

/** Red (mask) pixels of the canvas, per quarter of it (the 2x2 layout: three planes and 3D). */
async function redPixels(page) {
  const canvas = page.locator('[data-testid=viewer-canvas]');
  // The screenshot scrolls the canvas into view: its box is read after it.
  const png = PNG.sync.read(await canvas.screenshot());
  const box = await canvas.boundingBox();
  const quarters = [[], [], [], []];
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = 4 * (y * png.width + x);
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (r > 120 && r > g + 60 && r > b + 60) {
        quarters[(y < png.height / 2 ? 0 : 2) + (x < png.width / 2 ? 0 : 1)].push([x, y]);
      }
    }
  }
  // Screenshot pixels to page coordinates.
  const scale = [box.width / png.width, box.height / png.height];
  return { quarters, at: ([x, y]) => [box.x + x * scale[0], box.y + y * scale[1]] };
}

function centroid(points) {
  const n = points.length;
  return [points.reduce((s, p) => s + p[0], 0) / n, points.reduce((s, p) => s + p[1], 0) / n];
}

const volumeOf = async (page, section) => page.locator(`${section} [data-testid=study-volume]`).innerText();

async function waitVolumeChange(page, section, before) {
  await page.waitForFunction(
    ([s, b]) => {
      const t = document.querySelector(`${s} [data-testid=study-volume]`)?.textContent ?? '';
      return /mL|%/.test(t) && t !== b;
    },
    [section, before],
    { timeout: EDIT_MS },
  );
  return volumeOf(page, section);
}

const mlOf = (text) => parseFloat(/([\d.]+) mL/.exec(text)?.[1] ?? 'NaN');

/** Tumor voxels of a downloaded mask.nii.gz and their volume in mL (from its pixdim). */
function niftiMl(path) {
  const bytes = gunzipSync(readFileSync(path));
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const offset = view.getFloat32(108, true);
  const voxel = [1, 2, 3].map((k) => view.getFloat32(76 + 4 * k, true)).reduce((a, b) => a * b, 1);
  let n = 0;
  for (let i = offset; i < bytes.length; i++) n += bytes[i] !== 0 ? 1 : 0;
  return { voxels: n, ml: (n * voxel) / 1000 };
}

async function download(page, section, testId, path) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(`${section} [data-testid=${testId}]`)]);
  await file.saveAs(path);
  return path;
}

/** The DICOM SEG study (phantom with tumor): planes, scrolling, edits and their exports. */
export async function viewerEdits(page, failures, { label, art, root, python, series }) {
  const section = `section[aria-label="Study ${label}"]`;
  await openViewer(page, label);
  const red = await redPixels(page);
  const withRed = red.quarters.filter((q) => q.length > 0).length;
  failures.check(withRed >= 3, `viewer: red mask pixels in ${withRed} of the 4 views (${red.quarters.map((q) => q.length)})`);
  await page.locator('[data-testid=viewer-canvas]').screenshot({ path: join(art, 'viewer.png') });
  await page.click('[data-testid=layout-3d]');
  await page.waitForTimeout(500);
  const rendered = (await redPixels(page)).quarters.flat().length;
  failures.check(rendered > 0, 'viewer: the 3D view alone shows no tumor');
  await page.click('[data-testid=layout-3-planes-3d]');

  const first = await sliceText(page);
  await page.focus('[data-testid=study-viewer]');
  await page.keyboard.press('ArrowUp');
  const second = await sliceText(page);
  failures.check(first !== second, `arrow key: the slice stayed "${first}"`);
  await page.keyboard.press('ArrowDown');
  failures.check((await sliceText(page)) === first, `arrow keys back: "${await sliceText(page)}", expected "${first}"`);

  // The edits on the axial plane alone, on the slice it opened on (most tumor).
  await page.click('[data-testid=layout-axial]');
  const [, slice] = /Slice (\d+)/.exec(first);
  const onAxial = await redPixels(page);
  const [wx, wy] = onAxial.at(centroid(onAxial.quarters.flat()));
  await page.mouse.move(wx, wy);
  await page.mouse.wheel(0, 120);
  await page.waitForTimeout(300);
  const wheeled = await sliceText(page);
  failures.check(wheeled !== first, `mouse wheel: the slice stayed "${first}"`);
  await page.click(`.tumor-strip .cell[title="Slice ${slice}"]`);
  failures.check((await sliceText(page)) === first, `tumor strip: "${await sliceText(page)}", expected "${first}"`);
  const all = async () => {
    const r = await redPixels(page);
    return { points: r.quarters.flat(), at: r.at };
  };

  // An eraser stroke through the middle of the tumor.
  const before = await volumeOf(page, section);
  await page.click('[data-testid=tool-eraser]');
  await page.locator('.viewer-tools input[type=range]').first().fill('12');
  const tumor = await all();
  if (!failures.check(tumor.points.length > 0, 'viewer: no tumor drawn on the axial plane to erase')) return {};
  const [cx, cy] = tumor.at(centroid(tumor.points));
  await page.mouse.move(cx - 30, cy);
  await page.mouse.down();
  for (let k = -30; k <= 30; k += 5) await page.mouse.move(cx + k, cy, { steps: 2 });
  await page.mouse.up();
  const erased = await waitVolumeChange(page, section, before);
  failures.check(mlOf(erased) < mlOf(before), `eraser: ${before} -> ${erased}`);
  failures.check(await page.locator(`${section} [data-testid=study-edited]`).isVisible(), 'the panel does not say the mask was corrected');

  // The downloads follow the corrected mask: NIfTI and SEG hold what the panel measures.
  const nifti = niftiMl(await download(page, section, 'save-nifti', join(art, 'edited_mask.nii.gz')));
  failures.check(Math.abs(nifti.ml - mlOf(erased)) < 0.006, `edited NIfTI: ${nifti.ml.toFixed(3)} mL, panel ${erased}`);
  const seg = await download(page, section, 'save-seg', join(art, 'edited_seg.dcm'));
  let segCheck = '';
  try {
    const edited = join(art, 'edited_mask.nii.gz');
    segCheck = execFileSync(python, [join(root, 'tests/standard_tools/check_seg.py'), '--semiautomatic', seg, series, edited], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (e) {
    failures.check(false, `edited SEG: ${(e.stderr || e.stdout || e.message).trim()}`);
  }

  // "Not tumor" on what is left, then undo brings it back.
  await page.click('[data-testid=tool-not-tumor]');
  const left = await all();
  if (!failures.check(left.points.length > 0, 'viewer: no tumor left on the axial plane after the stroke')) return {};
  const [lx, ly] = left.at(left.points[Math.floor(left.points.length / 2)]);
  await page.mouse.click(lx, ly);
  const removed = await waitVolumeChange(page, section, erased);
  failures.check(mlOf(removed) < mlOf(erased), `not tumor: ${erased} -> ${removed}`);
  await page.click('[data-testid=undo]');
  const undone = await waitVolumeChange(page, section, removed);
  failures.check(undone === erased, `undo: ${removed} -> ${undone}, expected ${erased}`);
  await page.click('[data-testid=tool-navigate]');
  await page.click('[data-testid=layout-3-planes-3d]');
  return {
    viewer:
      `mask in ${withRed}/4 views and the 3D view (${rendered} px); ${first} -> ${second} (arrow key), ${wheeled} (wheel); eraser ${before} -> ${erased}; ` +
      `NIfTI ${nifti.ml.toFixed(2)} mL; ${segCheck || 'SEG not checked'}; not tumor -> ${removed}; undo -> ${undone}`,
  };
}
