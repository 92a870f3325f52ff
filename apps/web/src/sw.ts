/// <reference lib="webworker" />
/**
 * The web client's service worker: keeps the app shell (the page, its hashed scripts and styles,
 * the key worker's script, icons and manifest) in Cache Storage so the client starts without the
 * network, and updates it when a new build is deployed. It handles nothing else: API requests
 * (`/api/…`, where mail and keys travel, always encrypted but still the user's) pass straight to
 * the network and are never cached. The list of files is written in by the build
 * (tools/vite/front-end.ts, `serviceWorker()`).
 */
declare const __SEALMAIL_SHELL__: { version: string; files: string[] };

const sw = self as unknown as ServiceWorkerGlobalScope;
const SHELL = __SEALMAIL_SHELL__;
const PREFIX = 'sealmail-shell-';
const CACHE = `${PREFIX}${SHELL.version}`;
const FILES = new Set(SHELL.files);

sw.addEventListener('install', (event) => {
  // `reload`: fetch past the HTTP cache, so the shell is the one just deployed.
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.files.map((f) => new Request(f, { cache: 'reload' })))).then(() => sw.skipWaiting()));
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== sw.location.origin || url.pathname.startsWith('/api/')) return;
  if (req.mode === 'navigate') {
    // The page: the network's when it answers (a new deployment), the cached shell when offline.
    event.respondWith(fetch(req).catch(() => caches.match('/', { cacheName: CACHE }).then((r) => r ?? Response.error())));
    return;
  }
  if (!FILES.has(url.pathname)) return;
  event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit ?? fetch(req)));
});
