// Immutable assets kept decoded in Cache Storage, for the host worker.
//
// The HTTP cache keeps a response as it came, compressed, and the browser
// decodes every byte of it again on each load: reading the 15 MB Pyodide
// snapshot from it took 225 ms here, reading it decoded from Cache Storage
// 33 ms (Pyodide's 9.6 MB wasm 168 ms against 21, an 11 MB Go module about
// 300 ms against 30). Only what cannot change under its key is kept: a file
// whose URL names its content (the snapshot's hash, Pyodide's version in its
// path), and a module's bytes under its URL and the sha256 the manifest gives
// them, after they were checked against it. An entry is written only once what
// it holds has been used (a snapshot Python booted from), so a damaged download
// is never kept; where Cache Storage is missing or refuses (no secure context,
// quota), everything comes from the network as before.

const NAME = "edgebox-decoded";
// Entries kept at most, oldest dropped first: Pyodide's wasm, its snapshot and
// standard library, and a few versions of a few modules (about 12 MB each).
const MAX_ENTRIES = 12;

/** The key of the bytes `url` served whose sha256 is `hex` (both: bytes another URL served
 *  under the same hash are not what this URL serves, and a URL may serve new bytes under a new hash). */
export const moduleKey = (url, hex) => {
  const key = new URL(`/.edgebox-decoded/sha256/${hex}`, self.location.href);
  key.searchParams.set("from", url);
  return key.href;
};

export class DecodedCache {
  #cache = null;

  #open() {
    this.#cache ??= (typeof caches === "object" && caches !== null ? caches.open(NAME) : Promise.reject(new Error("no Cache Storage")))
      .catch(() => null);
    return this.#cache;
  }

  /** The response kept under `key` (a URL), with the type it was kept with, or undefined. */
  async response(key) {
    try {
      return (await (await this.#open())?.match(key)) ?? undefined;
    } catch {
      return undefined; // unreadable: fetched again, as if never kept
    }
  }

  /** The bytes kept under `key` (a URL), or undefined. */
  async bytes(key) {
    try {
      return await (await this.response(key))?.arrayBuffer();
    } catch {
      return undefined;
    }
  }

  /** Keep `bytes` (an ArrayBuffer nobody writes to) under `key`, in the background. */
  keep(key, bytes, contentType = "application/octet-stream") {
    this.#open().then(async (cache) => {
      if (!cache) return;
      await cache.put(key, new Response(bytes, { headers: { "content-type": contentType } }));
      const keys = await cache.keys(); // oldest first
      for (const old of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) await cache.delete(old);
    }).catch(() => {}); // full or refused: the next load fetches it again
  }

  /** Drop what is kept under `key` (it failed to boot, say). */
  forget(key) {
    this.#open().then((cache) => cache?.delete(key)).catch(() => {});
  }
}
