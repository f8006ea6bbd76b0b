// Offline copy of the page: its HTML, JS, wasm, CSS, the model and the viewer, all from this origin.
// Network first, so a new deployment (or model) is used as soon as it is reachable; the cache
// answers only when the network cannot. Nothing but this origin's own GET requests is touched.
const CACHE = 'brainseg';
const MODEL = 'brainseg.bsm.gz';
// Fetched by the page the first time a study is viewed, so index.html does not name it.
const VIEWER = 'niivue.umd.js';
// Started by the page (new Worker), so index.html does not name it.
const WORKER = 'worker.js';
const SHELL = './';

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  event.respondWith(networkFirst(event));
});

// What a version of the page needs: trunk gives the wasm, JS and CSS content-hashed names and
// index.html lists them all; the model, the worker script and the page itself complete the set.
function needs(html) {
  const scope = self.registration.scope;
  const urls = new Set([SHELL, MODEL, WORKER, VIEWER].map((u) => new URL(u, scope).href));
  for (const [, link] of html.matchAll(/\b(?:href|src|data-js|data-wasm)="([^"]+)"/g)) {
    const url = new URL(link, scope);
    if (url.origin === self.location.origin) {
      urls.add(url.href);
    }
  }
  return urls;
}

async function precache() {
  const cache = await caches.open(CACHE);
  const page = await fetch(SHELL, { cache: 'no-cache' });
  const urls = needs(await page.clone().text());
  await cache.put(SHELL, page);
  urls.delete(new URL(SHELL, self.registration.scope).href);
  // The page has just downloaded these: take them from the HTTP cache where it still has them.
  await cache.addAll([...urls].map((url) => new Request(url, { cache: 'force-cache' })));
}

// A new page version: keep it, and drop what only older versions needed.
async function storeShell(cache, response) {
  const keep = needs(await response.clone().text());
  await cache.put(SHELL, response);
  for (const key of await cache.keys()) {
    if (!keep.has(key.url)) {
      await cache.delete(key);
    }
  }
}

async function networkFirst(event) {
  const request = event.request;
  const navigate = request.mode === 'navigate';
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') {
      // Not awaited: the page gets the body while it streams into the cache.
      const copy = response.clone();
      event.waitUntil(navigate ? storeShell(cache, copy) : cache.put(request, copy));
    }
    return response;
  } catch (offline) {
    const cached = await cache.match(navigate ? SHELL : request, { ignoreSearch: true });
    if (cached) {
      return cached;
    }
    throw offline;
  }
}
