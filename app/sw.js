// Offline copy of the page: its HTML, JS, wasm, CSS and the model, all from this origin.
// Network first, so a new deployment (or model) is used as soon as it is reachable; the cache
// answers only when the network cannot. Nothing but this origin's own GET requests is touched.
const CACHE = 'brainseg';
const MODEL = 'brainseg.bsm';
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

// trunk gives the wasm, JS and CSS content-hashed names; index.html lists them all.
async function precache() {
  const cache = await caches.open(CACHE);
  const page = await fetch(SHELL, { cache: 'no-cache' });
  const html = await page.clone().text();
  const scope = self.registration.scope;
  const urls = new Set([new URL(MODEL, scope).href]);
  for (const [, link] of html.matchAll(/\b(?:href|src|data-js|data-wasm)="([^"]+)"/g)) {
    const url = new URL(link, scope);
    if (url.origin === self.location.origin) {
      urls.add(url.href);
    }
  }
  await cache.put(SHELL, page);
  // The page has just downloaded these: take them from the HTTP cache where it still has them.
  await cache.addAll([...urls].map((url) => new Request(url, { cache: 'force-cache' })));
}

async function networkFirst(event) {
  const request = event.request;
  const key = request.mode === 'navigate' ? SHELL : request;
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') {
      // Not awaited: the page gets the body while it streams into the cache.
      event.waitUntil(cache.put(key, response.clone()));
    }
    return response;
  } catch (offline) {
    const cached = await cache.match(key, { ignoreSearch: true });
    if (cached) {
      return cached;
    }
    throw offline;
  }
}
