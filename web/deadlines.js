// The page's request deadlines (edgebox.js), under one timer set for the
// earliest: a timer per request cost the page more than the rest of a call's
// bookkeeping, and calls to one module share a bound, so a new deadline is
// almost never the earliest and costs no timer at all.

/**
 * late(key) runs once, at or after its deadline, unless the key was cancelled or set again first.
 * beforeLate() runs once before any deadline ends its key, and may still cancel keys (the page
 * reads the replies already received first: it may have been too busy to read them in time).
 */
export class Deadlines {
  #entries = new Map(); // key -> {at, late}, at in performance.now() milliseconds
  #timer = null;
  #at = Infinity; // when the timer fires
  #beforeLate;

  constructor(beforeLate = () => {}) {
    this.#beforeLate = beforeLate;
  }

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
    // A timer may fire a moment early by performance.now(): 1 ms of grace.
    const due = performance.now() + 1;
    for (const entry of this.#entries.values()) {
      if (entry.at <= due) {
        this.#beforeLate();
        break;
      }
    }
    let next = Infinity;
    for (const [key, entry] of this.#entries) {
      if (entry.at <= due) {
        this.#entries.delete(key);
        entry.late(key);
      } else {
        next = Math.min(next, entry.at);
      }
    }
    if (next !== Infinity) this.#arm(next);
  }
}
