// The hardened realm of a guest worker, applied after the module is
// instantiated and before any guest code runs: intrinsics frozen (no prototype
// pollution, even through raw typed arrays), and every network, storage and
// channel global deleted (the CSP already refuses eval and Function).
const { deleteProperty, getPrototypeOf } = Reflect;
const { freeze, getOwnPropertyNames } = Object;

const STRIP = ["fetch", "XMLHttpRequest", "WebSocket", "WebSocketStream", "WebTransport", "EventSource",
  "importScripts", "BroadcastChannel", "Worker", "SharedWorker", "indexedDB", "caches", "CacheStorage",
  "postMessage", "close", "navigator", "location", "SharedArrayBuffer", "Atomics", "Notification",
  "FileSystemHandle", "storageManager", "cookieStore", "onmessage", "addEventListener", "removeEventListener",
  "dispatchEvent", "fetchLater", "webkitRequestFileSystem", "webkitRequestFileSystemSync", "requestFileSystem"];
const NAMESPACES = ["Math", "JSON", "Reflect", "Atomics", "WebAssembly", "Intl"];

export function hardenRealm() {
  for (let scope = self; scope && scope !== Object.prototype; scope = getPrototypeOf(scope)) {
    for (const name of STRIP) {
      try { deleteProperty(scope, name); } catch { /* not configurable: left, but unreachable through the membrane */ }
    }
  }
  for (const name of getOwnPropertyNames(self)) {
    const value = self[name];
    if (typeof value === "function" && /^[A-Z]/.test(name)) {
      try { freeze(value.prototype); freeze(value); } catch { /* some host objects refuse; harmless */ }
    } else if (NAMESPACES.includes(name)) {
      try { freeze(value); } catch { /* ignore */ }
    }
  }
  freeze(getPrototypeOf(function* () {}));
  freeze(getPrototypeOf(async function () {}));
}
