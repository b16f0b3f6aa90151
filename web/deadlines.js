// The page's request deadlines (edgebox.js), under one timer set for the
// earliest: a timer per request cost the page more than the rest of a call's
// bookkeeping, and calls to one module share a bound, so a new deadline is
// almost never the earliest and costs no timer at all.

/** late(key) runs once, at or after its deadline, unless the key was cancelled or set again first. */
export class Deadlines {
  #entries = new Map(); // key -> {at, late}, at in performance.now() milliseconds
  #timer = null;
  #at = Infinity; // when the timer fires

  /** Call late(key) in ms milliseconds (replacing the key's deadline, if it had one). */
  set(key, ms, late) {
    const at = performance.now() + ms;
    this.#entries.set(key, { at, late });
    this.#arm(at);
  }

  cancel(key) {
    this.#entries.delete(key);
  }

  #arm(at) {
    if (at >= this.#at) return;
    clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
  }

  #fire() {
    this.#timer = null;
    this.#at = Infinity;
    let next = Infinity;
    for (const [key, entry] of this.#entries) {
      // A timer may fire a moment early by performance.now(): 1 ms of grace.
      if (entry.at <= performance.now() + 1) {
        this.#entries.delete(key);
        entry.late(key);
      } else {
        next = Math.min(next, entry.at);
      }
    }
    if (next !== Infinity) this.#arm(next);
  }
}
