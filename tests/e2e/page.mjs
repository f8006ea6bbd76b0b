// Driving the brainseg page: launching Debian's Chromium, recording requests, dropping files.
import { chromium } from 'playwright-core';

// Flags measured to work here (shared/docs/wasm-toolchain.md): no background traffic, fresh profile.
const FLAGS = [
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

export async function launch({ webgpu }) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: process.getuid?.() !== 0, // root cannot use the sandbox
    args: webgpu ? [...FLAGS, '--enable-unsafe-webgpu'] : FLAGS,
  });
}

/** Every request the page (or its service worker) makes, with the time it was made. */
export function recordRequests(context) {
  const requests = [];
  context.on('request', (r) => requests.push({ url: r.url(), at: Date.now() }));
  return requests;
}

/** Network requests (http/https/ws) that leave `origin`. */
export function foreign(requests, origin) {
  return requests.filter(({ url }) => /^(https?|wss?):/.test(url) && new URL(url).origin !== origin);
}

export function networkAfter(requests, time) {
  return requests.filter(({ url, at }) => at >= time && /^(https?|wss?):/.test(url));
}

/** Text of the backend once the model is ready; throws with the page's message if it failed. */
export async function waitReady(page, timeout) {
  const status = page.locator('[data-testid=backend], .status.failed');
  await status.first().waitFor({ timeout });
  if (await page.locator('.status.failed').count()) {
    throw new Error(`model failed to load: ${await page.locator('.status.failed').innerText()}`);
  }
  return page.locator('[data-testid=backend]').innerText();
}

/** Drops files on the drop zone as a drag and drop would (`files`: {name, type, bytes}). */
export async function dropFiles(page, files) {
  const payload = files.map((f) => ({ name: f.name, type: f.type, b64: Buffer.from(f.bytes).toString('base64') }));
  await page.evaluate((list) => {
    const transfer = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], f.name, { type: f.type }));
    }
    const zone = document.querySelector('[data-testid=drop-zone]');
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, payload);
}

/** Waits until `count` slices are segmented and none is waiting. */
export async function waitSegmented(page, count, timeout) {
  await page.waitForFunction(
    (n) => {
      const text = (id) => document.querySelector(`[data-testid=${id}]`)?.textContent;
      return text('done-count') === String(n) && text('waiting-count') === '0';
    },
    count,
    { timeout },
  );
}
