// Runs only the study viewer's checks on the phantom series (a quick loop while developing).
import { launch, waitReady } from './page.mjs';
import { serve } from './server.mjs';
import { viewerEdits } from './viewer.mjs';
const root = '/work/main';
const server = await serve(`${root}/dist`);
const browser = await launch({ webgpu: false });
const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
page.on('console', (m) => { if (!/GL Driver|niivue-warn/.test(m.text())) console.log('console:', m.type(), m.text().slice(0, 300)); });
page.on('pageerror', (e) => console.log('pageerror', e.message));
await page.goto(`${server.origin}/?device=cpu`);
console.log(await waitReady(page, 240000));
await page.setInputFiles('[data-testid=folder-input]', `${root}/test-artifacts/e2e/phantom-series`);
await page.waitForFunction(() => /mL/.test(document.querySelector('[data-testid=study-volume]')?.textContent ?? ''), null, { timeout: 300000 });
const label = await page.locator('[data-testid=study-summary] h2').first().innerText();
const failures = { list: [], check(ok, what) { if (!ok) this.list.push(what); return ok; } };
try {
  console.log(await viewerEdits(page, failures, { label, art: '/tmp/dbg', root, python: `${root}/.venv-dicom/bin/python`, series: `${root}/test-artifacts/e2e/phantom-series` }));
} catch (e) { console.log('threw', e.message.split('\n')[0]); }
await page.screenshot({ path: '/tmp/dbg/end.png' });
console.log(failures.list);
await browser.close();
await server.close();
