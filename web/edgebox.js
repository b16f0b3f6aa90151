// The EdgeBox loader: the one script a page embeds.
//
//   import { EdgeBox, EdgeBoxError } from "/edgebox/edgebox.js";
//   const box = await EdgeBox.start({ onProgress: (p) => console.log(p.phase, p.loaded, p.total) });
//   await box.call("heartbeat", "verifyHeartbeat", Date.now(), "abc123");
//   await box.close();
import { MessagePortChannel, SharedChannel } from "./channel.js";
import { NULL_BODY_STATUSES, Op } from "./protocol.js";
import { MAX_ARGS, REPLY_CODES } from "./guest-protocol.js";
import { pageURL, randomId, validate } from "./options.js";
import { fetchFromEdge } from "./fallback.js";
import { Deadlines } from "./deadlines.js";
import {
  BadRequestError, BootError, ClosedError, ConfigError, CrashedError, EdgeBoxError, GuestError, TimeoutError,
  TooLargeError, translatedStream,
} from "./errors.js";

export {
  BadRequestError, BootError, ClosedError, ConfigError, CrashedError, DeniedError, ERROR_CLASSES, EdgeBoxError, GuestError,
  ImportMismatchError, IntegrityError, LimitError, LoadError, NetworkError, NotFoundError, PanicError, SignatureError, TimeoutError,
  TooLargeError,
} from "./errors.js";

const textEncoder = new TextEncoder();
// Beyond a module's timeout_ms, what a direct call may wait for the host's verdict
// (its watchdog looks every 25 ms) before it ends on its own.
const DIRECT_SLACK_MS = 1500;
// Codes a guest worker may answer with over a direct channel; how an instance
// died only the host says (detach).
const REPLY_CODE_SET = new Set(REPLY_CODES);
// Go frames come only from the host, which read them from Go's own last words.
const fromGuest = (wire) => EdgeBoxError.fromWire(REPLY_CODE_SET.has(wire?.code) ? { ...wire, frames: undefined }
  : { ...wire, frames: undefined, code: "E_GUEST", message: `(claimed ${String(wire?.code).slice(0, 40)}) ${wire?.message}` });

// A body as fetch hands it over: the codings fetch decodes undone, last applied
// first, as a stream (the host never decodes: app/edgebox/_http_answer.py).
// A coding fetch does not know leaves the body as it is, as fetch leaves it.
const DECODERS = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate", identity: null };
// A body that does not decode fails its reader with E_GUEST, not the DecompressionStream's TypeError.
function decoded(body, codings, what) {
  if (!codings || !body || body.length === 0) return body;
  const order = codings.split(",").map((coding) => coding.trim().toLowerCase()).filter(Boolean).reverse();
  if (!order.every((coding) => Object.hasOwn(DECODERS, coding))) return body;
  let stream = body instanceof ReadableStream ? body : new Blob([body]).stream();
  for (const coding of order) if (DECODERS[coding]) stream = stream.pipeThrough(new DecompressionStream(DECODERS[coding]));
  return translatedStream(stream, (error) => new GuestError(`${what}: the body does not decode as its Content-Encoding ${codings} says: ${error?.message ?? error}`, { cause: error }));
}

// box.fetch with a signal, as fetch with one: aborted before the answer, the request rejects
// with the signal's reason (the answer, when it comes, is dropped); aborted after it, the
// body still arriving errors with that reason.
async function abortable(answer, signal) {
  answer.catch(() => {}); // given up on: its end is nobody's
  let onAbort;
  const aborted = new Promise((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  let response;
  try {
    response = await Promise.race([answer, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  if (response.body === null) return response;
  return new Response(response.body.pipeThrough(new TransformStream(), { signal }),
    { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * A running box. Events: "audit" (CustomEvent whose detail is
 * {time, module, capability, detail, code}) for every denial or limit hit;
 * "restart" (detail: {reason}) when the host worker died and was replaced;
 * "update" (detail: {module, from, to, ok, reason}) for each module box.update() changed or
 * failed to; "rollback" (detail: {module, from, to, reason}) when a module went back to
 * its version before (on its own, or by box.rollback).
 */
export class EdgeBox extends EventTarget {
  #config;
  #worker = null;
  #channel = null;
  #ready = null; // settles when the current host worker can take requests
  #pending = new Map(); // id -> {resolve, reject, ...what the request was}
  #deadlines = new Deadlines(() => this.#readReplies()); // id -> when it ends unanswered
  #streams = new Map(); // id of a fetch whose body streams -> its ReadableStream's controller
  #nextId = 1;
  #failure = null; // set once the box can serve no more (closed, or could not restart)
  #generation = 0; // bumped per host worker, so a dead one's late news is ignored
  #restarts = 0;
  #direct = new Map(); // module -> {channel, ids} once connected ({channel: null} while connecting)
  #spins = { polls: 0, found: 0, ms: 0 }; // the direct channels' polls for replies (channel.js)
  #edgeReason = null; // why box.fetch goes to the fallback edge server, when it does
  #poll = null; // the timer of EdgeBox.start({ update: { everyMs } })

  /**
   * Boot a box: resolves once the host can answer calls, rejects with BootError.
   * With `fallback`, a page that is not cross-origin isolated, or a box that
   * could not start, resolves to a box whose fetch goes to that edge server.
   */
  static async start(options = {}) {
    const box = new EdgeBox();
    box.#config = validate(options);
    if (box.#config.fallback && !box.#config.isolated) {
      box.#edgeReason = "this page is not cross-origin isolated";
      return box;
    }
    try {
      box.#ready = box.#boot();
      await box.#ready;
      if (box.#config.updateEveryMs) box.#pollUpdates();
    } catch (error) {
      let failure = error;
      if (!(error instanceof EdgeBoxError)) {
        box.#stopWorker(new ClosedError("the box could not start"));
        failure = new BootError(`EdgeBox could not start: ${error?.message ?? error}`, { cause: error });
      }
      if (!(box.#config.fallback && failure instanceof BootError)) throw failure;
      box.#edgeReason = failure.message;
      console.warn(`EdgeBox: ${failure.message}; box.fetch goes to the edge server ${box.#config.fallback}`);
    }
    return box;
  }

  /** Where box.fetch is answered: "browser", or "edge" (the fallback server; see start). */
  get where() {
    return this.#edgeReason === null ? "browser" : "edge";
  }

  /** How calls travel between this page and the host worker: "sab" or "message". */
  get transport() {
    return this.#config.transport;
  }

  /** How many times the host worker died and was replaced. */
  get restarts() {
    return this.#restarts;
  }

  /** Call an exported function of a module; resolves with its result. */
  call(module, fn, ...args) {
    if (typeof module !== "string" || typeof fn !== "string") {
      return Promise.reject(new BadRequestError("box.call(module, fn, ...args): module and fn must be strings"));
    }
    if (args.length > MAX_ARGS) return Promise.reject(new BadRequestError(`box.call(${module}, ${fn}): at most ${MAX_ARGS} arguments`));
    return this.#request({ op: Op.CALL, module, fn, args }, `box.call(${module}, ${fn})`, module);
  }

  /**
   * Send a request to the edge handler routed for its path, as the global fetch
   * would send it to a server: takes a URL (resolved against the page) or a
   * Request, and init; resolves to a Response. No route gives a 404 response.
   */
  async fetch(input, init = {}) {
    let head;
    let body;
    let signal;
    try {
      const request = input instanceof Request ? input : null;
      signal = init?.signal ?? request?.signal ?? null;
      const url = new URL(request ? request.url : String(input), pageURL()).href;
      const method = String(init?.method ?? request?.method ?? "GET").toUpperCase();
      // A Headers object of our own: the page may set what a browser's fetch would forbid (Origin, say).
      const headers = [...new Headers(init?.headers ?? request?.headers ?? {})];
      body = init?.body ?? (request && !["GET", "HEAD"].includes(method) ? await request.arrayBuffer() : null);
      // The common bodies at once; any other BodyInit as fetch reads it.
      if (typeof body === "string") body = textEncoder.encode(body);
      else if (body instanceof ArrayBuffer) body = new Uint8Array(body.slice(0));
      else if (body !== null && body !== undefined && !(body instanceof Uint8Array)) {
        body = new Uint8Array(await new Response(body).arrayBuffer());
      }
      head = { method, url, headers };
    } catch (error) {
      throw new BadRequestError(`box.fetch(input, init): ${error.message}`, { cause: error });
    }
    if (!signal) return this.#answer(head, body);
    signal.throwIfAborted(); // as fetch: the signal's own reason
    return abortable(this.#answer(head, body), signal);
  }

  async #answer(head, body) {
    if (this.#edgeReason !== null) {
      if (this.#failure) throw this.#failure;
      return fetchFromEdge(head, body, this.#config);
    }
    const reply = await this.#request({ op: Op.FETCH, head, body: body ?? null }, `box.fetch(${head.url})`);
    const nullBody = NULL_BODY_STATUSES.includes(reply.status) || head.method === "HEAD";
    try {
      const headers = new Headers(reply.headers);
      headers.set("x-edgebox-where", "browser");
      const body = nullBody ? null : decoded(reply.body, headers.get("content-encoding"), `box.fetch(${head.url})`);
      return new Response(body, { status: reply.status, statusText: reply.statusText ?? "", headers });
    } catch (error) {
      // The host validates every answer; this is the last line, never a foreign exception.
      throw new GuestError(`box.fetch(${head.url}): the answer is not a valid HTTP response: ${error.message}`, { cause: error });
    }
  }

  /** The box's metrics in Prometheus text exposition format. */
  metrics() {
    return this.#request({ op: Op.METRICS }, "box.metrics()");
  }

  /** Replace the feature flags gray-release rules look at; the next request sees them. */
  setFlags(flags) {
    if (flags === null || typeof flags !== "object") return Promise.reject(new ConfigError("box.setFlags(flags): an object"));
    this.#config.flags = { ...flags };
    if (this.#edgeReason !== null) return Promise.resolve(); // sent with each request
    return this.#request({ op: Op.FLAGS, flags: this.#config.flags }, "box.setFlags()");
  }

  /** What the host keeps: counters (denials and limits by code:capability, restarts),
   *  running modules, and the recent guest log lines and audit events; spin: the page's
   *  polls for direct replies, {polls, found, ms} (ms: main-thread time they took). */
  // The next poll is timed from the end of the last one, so a slow or stalled
  // manifest never piles updates up behind each other.
  #pollUpdates() {
    this.#poll = setTimeout(async () => {
      await this.update().catch((error) => console.warn(`EdgeBox: update refused: ${error.message}`));
      if (this.#poll !== null) this.#pollUpdates();
    }, this.#config.updateEveryMs);
  }

  async stats() {
    const stats = await this.#request({ op: Op.STATS }, "box.stats()");
    return { ...stats, spin: { ...this.#spins } };
  }

  /**
   * Fetch and verify the manifest again, and switch each changed module to its new
   * version once it has loaded, started and passed its health check. Resolves to
   * [{module, from, to, ok, reason}] (ok false: the old version keeps serving);
   * rejects only when the manifest itself is refused (E_SIGNATURE, say).
   */
  async update() {
    const changes = await this.#request({ op: Op.UPDATE }, "box.update()");
    for (const change of changes) this.dispatchEvent(new CustomEvent("update", { detail: change }));
    return changes;
  }

  /** Switch `module` back to the version it served before its last update, at once; resolves to {module, from, to, reason}. */
  rollback(module) {
    if (typeof module !== "string") return Promise.reject(new BadRequestError("box.rollback(module): module must be a string"));
    return this.#request({ op: Op.ROLLBACK, module }, `box.rollback(${module})`);
  }

  /** Stop the box; pending and later calls reject with ClosedError. */
  async close() {
    clearTimeout(this.#poll);
    this.#poll = null;
    this.#failure ??= new ClosedError("the box was closed");
    this.#stopWorker(this.#failure);
  }

  async #request(message, what, module = null) {
    if (this.#failure) throw this.#failure;
    if (this.#edgeReason !== null) {
      throw new BootError(`${what}: EdgeBox is not running in this page (${this.#edgeReason}); with fallback, only box.fetch goes to the edge server`);
    }
    await this.#ready; // a restart in progress: wait for the new host
    if (this.#failure) throw this.#failure;
    const generation = this.#generation;
    const direct = module === null ? null : this.#directTo(module);
    // A direct call ends by its module's timeout_ms (the host's watchdog ends a call that runs
    // too long; this ends one left waiting behind others); callTimeoutMs is the last resort.
    const bound = direct ? Math.min(direct.timeoutMs + DIRECT_SLACK_MS, this.#config.callTimeoutMs) : this.#config.callTimeoutMs;
    const late = bound < this.#config.callTimeoutMs
      ? (id) => this.#settle(id, null, new TimeoutError(`${what}: no answer within ${direct.timeoutMs} ms (timeout_ms), waiting included`))
      : (id) => this.#timedOut(id, what);
    const [id, answered] = this.#expect(bound, late, { direct, message, what, sentAt: performance.now() });
    direct?.ids.add(id);
    let sent;
    try {
      // A call alone on its direct channel polls for its reply a moment (channel.js SPIN_MS).
      sent = direct ? direct.channel.send({ ...message, id }, direct.ids.size === 1) : this.#channel.send({ ...message, id });
    } catch (error) {
      const cls = error instanceof RangeError ? TooLargeError : BadRequestError;
      this.#settle(id, null, new cls(`${what}: ${error.message}`, { cause: error }));
      return answered;
    }
    // A send that fails on a channel the call has since left (detach sent it again) is no news.
    sent.catch((error) => generation === this.#generation && this.#pending.get(id)?.direct === direct
      && this.#settle(id, null, new CrashedError(`${what}: ${error.message}`)));
    return answered;
  }

  // Before a deadline ends a request: the replies already in a ring, on the host's channel and on the
  // direct channels of the requests still waiting (a retiring one included), win over it.
  #readReplies() {
    this.#channel?.drain?.(); // postMessage has nothing to drain: its replies are events
    for (const direct of new Set([...this.#pending.values()].map((pending) => pending.direct))) direct?.channel?.drain();
  }

  // The one correlator: every request the page makes gets its id here and waits
  // here until #settle answers it, once (a reply, its deadline, a detach, a death).
  #expect(ms, late, entry = {}) {
    const id = this.#nextId++;
    const answered = new Promise((resolve, reject) => {
      this.#pending.set(id, { ...entry, resolve, reject });
    });
    this.#deadlines.set(id, ms, late);
    return [id, answered];
  }

  #settle(id, value, error) {
    const pending = this.#pending.get(id);
    if (!pending) return; // already answered, timed out or failed: never twice
    this.#pending.delete(id);
    this.#deadlines.cancel(id);
    pending.direct?.ids.delete(id);
    if (pending.direct?.retiring && pending.direct.ids.size === 0) pending.direct.channel?.close();
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  // A call with no answer in time: reject it, then check that the host still
  // runs its event loop; one that does not answer a ping is replaced.
  #timedOut(id, what) {
    this.#settle(id, null, new TimeoutError(`${what}: no answer within ${this.#config.callTimeoutMs} ms (callTimeoutMs)`));
    this.#ping();
  }

  #ping() {
    if (!this.#channel) return;
    const generation = this.#generation;
    const [ping, answered] = this.#expect(1000, () => generation === this.#generation && this.#hostDied("it stopped answering"));
    answered.catch(() => {}); // a pong is all it waits for
    this.#channel.send({ op: Op.PING, id: ping }).catch(() => {});
  }

  // The direct channel to `module`, if one is up; otherwise ask the host for
  // one (this call and those until it is up go through the host).
  #directTo(module) {
    if (!this.#config.direct) return null;
    const record = this.#direct.get(module);
    if (record?.channel && !record.ended) return record;
    if (!record) this.#connect(module);
    return null;
  }

  async #connect(module) {
    const record = { channel: null, ids: new Set(), ended: false }; // ended: the instance said it has exited
    this.#direct.set(module, record);
    const shared = SharedChannel.create(this.#config.sharedBytes);
    const channel = new SharedChannel(shared, "page", { maxMessageBytes: this.#config.maxMessageBytes, spins: this.#spins });
    const [id, answered] = this.#expect(Math.max(this.#config.callTimeoutMs, 10_000),
      (late) => this.#settle(late, null, new TimeoutError("connect")));
    answered.catch(() => {}); // awaited below, unless posting it fails first
    try {
      // By postMessage: a SharedArrayBuffer cannot travel inside the ring.
      this.#worker.postMessage({ op: Op.CONNECT, id, module, shared });
      // The answer is the module's timeout_ms: the bound of its direct calls, waiting included.
      record.timeoutMs = await answered;
    } catch {
      // The module could not start (its calls go through the host, which reports why), or the host is slow.
      if (this.#direct.get(module) === record) this.#direct.delete(module);
      return channel.close();
    }
    if (this.#direct.get(module) !== record || !this.#worker) return channel.close(); // detached or restarted meanwhile
    channel.onmessage = (data) => {
      if (data.op !== Op.REPLY) return;
      if (data.gone) {
        // The instance has ended: later calls go through the host (which starts a
        // fresh one); this one, never run, is delivered again once the host says so.
        record.ended = true;
        return;
      }
      // Nothing but the guest's own kind of error is believed from a guest.
      this.#settle(data.id, data.value, data.ok ? null : fromGuest(data.error));
    };
    record.channel = channel;
  }

  // The instance behind a direct channel is gone (the host's word, detach): the
  // call that killed it gets the death's error, the others it had started
  // E_CRASHED naming that cause, and those it never started go again, through
  // the host (app/edgebox/_lifecycle.py Death.fate decides the same for the host's calls).
  #detach(module, death) {
    const record = this.#direct.get(module);
    if (!record) return;
    this.#direct.delete(module);
    // Answers the instance wrote before it died are in the ring already: take them first.
    if (death) record.channel?.drain();
    record.channel?.close();
    if (!death) return; // the box stops: every pending call is failed by #stopWorker
    const error = EdgeBoxError.fromWire(death.error);
    for (const id of [...record.ids]) {
      const pending = this.#pending.get(id);
      if (!pending) continue;
      if (id === death.culprit) this.#settle(id, null, error);
      else if (id <= death.taken) {
        const cause = death.culprit == null ? "a goroutine no call was running" : "another call"; // Python's None arrives as undefined
        this.#settle(id, null, new CrashedError(`${pending.what}: the instance died while this call was running, because of ${cause}: [${error.code}] ${error.message}`));
      } else {
        record.ids.delete(id);
        pending.direct = null;
        // Through the host now, which bounds it (starting a fresh instance aside).
        this.#deadlines.set(id, this.#config.callTimeoutMs, (late) => this.#timedOut(late, pending.what));
        this.#channel.send({ ...pending.message, id, waitedMs: performance.now() - pending.sentAt }).catch(() => {});
      }
    }
  }

  // The host switched `module` to another instance (an update or a rollback): calls from
  // now on go through the host until a channel to the new one is up; calls in flight
  // on the old channel finish there, and it closes once they have.
  #switched(module, data) {
    const record = this.#direct.get(module);
    if (record) {
      this.#direct.delete(module);
      record.retiring = true;
      if (record.ids.size === 0) record.channel?.close();
    }
    if (data.kind === "rollback") this.dispatchEvent(new CustomEvent("rollback", { detail: data.detail }));
  }

  #hostDied(reason) {
    if (this.#failure) return;
    this.#stopWorker(new CrashedError(`the EdgeBox host worker died (${reason}); calls in flight were not answered`));
    this.#restarts++;
    this.dispatchEvent(new CustomEvent("restart", { detail: { reason } }));
    this.#ready = this.#boot().catch((error) => {
      this.#failure = error;
      throw error;
    });
    this.#ready.catch(() => {});
  }

  #stopWorker(error) {
    this.#generation++;
    for (const controller of this.#streams.values()) controller.error(error);
    this.#streams.clear();
    for (const module of [...this.#direct.keys()]) this.#detach(module, null);
    this.#channel?.close();
    this.#worker?.terminate();
    this.#worker = this.#channel = null;
    for (const id of [...this.#pending.keys()]) this.#settle(id, null, error);
  }

  // The body of a fetch the host answered at its head, while the handler still writes
  // (app/edgebox/_http.py): a stream the body events fill. Cancelled, it drops the rest.
  #openStream(id) {
    return new ReadableStream({
      start: (controller) => { this.#streams.set(id, controller); },
      cancel: () => { this.#streams.delete(id); },
    });
  }

  #streamed({ id, chunk, end, error }) {
    const controller = this.#streams.get(id);
    if (!controller) return;
    if (chunk instanceof Uint8Array) return controller.enqueue(chunk);
    this.#streams.delete(id);
    if (end === true) controller.close();
    else controller.error(EdgeBoxError.fromWire(error));
  }

  #progress(data) {
    try {
      this.#config.onProgress({ phase: data.phase, loaded: data.loaded, total: data.total });
    } catch (error) {
      console.error("EdgeBox onProgress threw:", error);
    }
  }

  #boot() {
    const config = this.#config;
    const generation = ++this.#generation;
    const workerURL = `${config.base}worker.js`;
    const lockName = `edgebox-host-${randomId()}`;
    const current = () => generation === this.#generation;
    return new Promise((resolve, reject) => {
      let booted = false;
      // A refused signature is itself the answer (E_SIGNATURE), not a failure to boot.
      const failBoot = (message, cause) => {
        if (!current() || booted) return;
        clearTimeout(timer);
        const error = cause?.code === "E_SIGNATURE" ? cause : new BootError(`EdgeBox could not start: ${message}`, { cause });
        this.#stopWorker(error);
        reject(error);
      };
      const timer = setTimeout(() => failBoot(`no answer from the host within ${config.bootTimeoutMs} ms`), config.bootTimeoutMs);
      let worker;
      try {
        worker = this.#worker = new Worker(workerURL, { type: "module", name: "edgebox-host" });
      } catch (error) {
        return failBoot(`cannot create the host worker ${workerURL}: ${error.message}`, error);
      }
      worker.onerror = (event) => {
        event.preventDefault?.();
        const detail = event.message || `the host worker ${workerURL} failed to load (check that base points at an EdgeBox build served with its headers)`;
        if (booted) {
          // An uncaught error is not a death: the life lock and the ping tell that.
          console.error(`EdgeBox host worker: ${detail}`);
          if (current()) this.#ping();
        } else {
          failBoot(detail);
        }
      };
      const shared = config.transport === "sab" ? SharedChannel.create(config.sharedBytes) : null;
      const channel = this.#channel = shared
        ? new SharedChannel(shared, "page", { maxMessageBytes: config.maxMessageBytes })
        : new MessagePortChannel(worker, { maxMessageBytes: config.maxMessageBytes });
      channel.onmessage = (data) => {
        if (!current()) return;
        if (data.op === Op.PROGRESS) return this.#progress(data);
        if (data.op === Op.AUDIT) return this.dispatchEvent(new CustomEvent("audit", { detail: data.event }));
        if (data.op === Op.PONG) return this.#settle(data.id, true, null);
        if (data.op === Op.DETACH) return this.#detach(data.module, data);
        if (data.op === Op.SWITCHED) return this.#switched(data.module, data);
        if (data.op === Op.BODY) return this.#streamed(data);
        if (data.op === Op.READY) {
          booted = true;
          clearTimeout(timer);
          this.#watch(lockName, generation);
          return resolve();
        }
        if (data.op !== Op.REPLY) return;
        if (data.id == null) { // a boot failure (Python's None arrives as undefined)
          const cause = EdgeBoxError.fromWire(data.error);
          return failBoot(`[${cause.code}] ${cause.message}`, cause);
        }
        // A fetch answered at its head: its body comes in body events, from here on.
        if (data.ok && data.value?.stream === true && this.#pending.get(data.id)?.message?.op === Op.FETCH) {
          data.value.body = this.#openStream(data.id);
        }
        this.#settle(data.id, data.value, data.ok ? null : EdgeBoxError.fromWire(data.error));
      };
      worker.postMessage({
        op: Op.INIT, manifestURL: config.manifest, modulesJSON: config.modulesJSON, routesJSON: config.routesJSON,
        warm: config.warm, lockName, shared, maxMessageBytes: config.maxMessageBytes,
        flags: config.flags, userId: config.userId, userAgent: navigator.userAgent, trustJSON: config.trustJSON,
      });
    });
  }

  // The worker holds a lock for its whole life; being granted it means the
  // worker is gone, however it went (crash, out of memory, terminate).
  #watch(lockName, generation) {
    if (!navigator.locks) return;
    navigator.locks.request(lockName, () => {
      if (generation === this.#generation) this.#hostDied("it exited");
    });
  }

  // For tests: end the host worker without telling the box, as a crash would.
  [Symbol.for("edgebox.debug.killHost")]() {
    this.#worker?.terminate();
  }
}
