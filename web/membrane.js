// The membrane between a GOOS=js guest and the JavaScript it may reach.
//
// Go's js.Global() is a proxy made here, and so is every object or function
// that crosses to the guest: properties, call results, thrown errors, promise
// values, callback arguments, Go's own js.FuncOf functions. constructor,
// __proto__, prototype and friends read as undefined (audited); writes reach
// only objects the guest created. Each proxy's target is a blank shadow, so the
// real object's invariants (frozen intrinsics) never force a real value out.
// Typed arrays and buffers cross unwrapped: plain data, moved without a trap
// per element, whose graph leads only to frozen intrinsics.

// Primordials, taken at import, before any guest code exists.
const { apply, construct, get, set, has, ownKeys, getOwnPropertyDescriptor, deleteProperty, getPrototypeOf } = Reflect;
const isView = ArrayBuffer.isView;
const isArray = Array.isArray;

const BLOCKED = new Set(["__proto__", "constructor", "prototype", "caller", "callee", "arguments",
  "__defineGetter__", "__defineSetter__", "__lookupGetter__", "__lookupSetter__"]);
const blocked = (key) => typeof key === "string" && BLOCKED.has(key);
const passesRaw = (value) => value instanceof ArrayBuffer || isView(value);

/**
 * audit(capability, detail) is told of every blocked step; meter, if given, of
 * every value the guest makes through the membrane: meter.made(value, target,
 * args) for a result of a call or a construction (and what it was made from),
 * meter.grew(target, lengthBefore, args) after a call on an array,
 * meter.wrote(target, value) after a write.
 */
export function createMembrane(audit, meter = null) {
  const toProxy = new WeakMap(); // real -> proxy
  const toReal = new WeakMap(); // proxy -> real (or, for a guest function, its host-callable form)
  const guestFunctions = new WeakMap(); // guest function -> host-callable wrapper
  const writable = new WeakSet(); // objects the guest created or owns

  function wrap(value) {
    if ((typeof value !== "object" && typeof value !== "function") || value === null || passesRaw(value)) return value;
    if (toReal.has(value)) return value;
    const known = toProxy.get(value);
    if (known) return known;
    const shadow = typeof value === "function" ? function () {}.bind(null) : {};
    const proxy = new Proxy(shadow, {
      get: (_, key) => (blocked(key) ? denied(`read .${key}`) : wrap(get(value, key, value))),
      set: (_, key, v) => {
        if (blocked(key) || !writable.has(value)) return denied(`write .${String(key)}`, false);
        const real = unwrap(v);
        meter?.wrote(value, real);
        // An array's length counts, holes included: a write that lengthens it grows it.
        const before = meter !== null && isArray(value) ? value.length : -1;
        const done = set(value, key, real, value);
        if (before !== -1) meter.grew(value, before, []);
        return done;
      },
      has: (_, key) => !blocked(key) && has(value, key),
      deleteProperty: (_, key) => !blocked(key) && writable.has(value) && deleteProperty(value, key),
      ownKeys: () => [...ownKeys(value).filter((key) => !blocked(key)), ...ownKeys(shadow).filter((key) => !has(value, key) || blocked(key))],
      getOwnPropertyDescriptor: (_, key) => {
        if (!blocked(key)) {
          const found = getOwnPropertyDescriptor(value, key);
          if (found) return { value: wrap(get(value, key, value)), writable: writable.has(value), enumerable: found.enumerable, configurable: true };
        }
        return getOwnPropertyDescriptor(shadow, key);
      },
      defineProperty: () => false,
      getPrototypeOf: () => getPrototypeOf(value), // for instanceof inside the engine; no guest reads it
      setPrototypeOf: () => false,
      preventExtensions: () => false,
      isExtensible: () => true,
      apply: (_, self, args) => guard(() => {
        const target = unwrap(self);
        const real = args.map(unwrap);
        const before = meter !== null && isArray(target) ? target.length : -1;
        const result = apply(value, target, real);
        if (meter !== null) {
          meter.made(result, target, real);
          if (before !== -1) meter.grew(target, before, real);
        }
        return result;
      }),
      construct: (_, args) => guard(() => {
        const real = args.map(unwrap);
        const made = construct(value, real);
        writable.add(made); // the guest's own object: it may write to it
        meter?.made(made, null, real);
        return made;
      }),
    });
    toProxy.set(value, proxy);
    toReal.set(proxy, value);
    return proxy;
  }

  // The object graph is a capability too: a blocked step is audited, and the
  // guest sees undefined (or a failed write), as if the property were not there.
  function denied(what, result = undefined) {
    audit("object", what);
    return result;
  }

  function guard(run) {
    try {
      return wrap(run());
    } catch (error) {
      throw wrap(error);
    }
  }

  function unwrap(value) {
    if (toReal.has(value)) return toReal.get(value);
    return typeof value === "function" ? hostCallable(value) : value;
  }

  // A guest function handed to the host: whatever the host calls it with
  // reaches the guest wrapped, and what it returns reaches the host unwrapped.
  function hostCallable(fn) {
    let callable = guestFunctions.get(fn);
    if (!callable) {
      callable = function (...args) { return unwrap(apply(fn, wrap(this), args.map(wrap))); };
      guestFunctions.set(fn, callable);
    }
    return callable;
  }

  return {
    wrap,
    unwrap,
    /**
     * Reflect.get for the Go runtime (wasm_exec.js): a function reached from
     * something that is not a proxy (a string's or a typed array's methods)
     * is wrapped too, so that calling it is seen (and metered) like any other.
     */
    get(target, key, receiver) {
      const found = get(target, key, receiver === undefined ? target : receiver);
      return typeof found === "function" && !toReal.has(target) && !toReal.has(found) ? wrap(found) : found;
    },
    /** The guest's view of an object it owns (and may write to), like its global. */
    own(value) {
      writable.add(value);
      return wrap(value);
    },
    /** Go's own function (js.FuncOf): wrapped for the guest, host-callable when handed over. */
    guestFunction(raw) {
      const proxy = wrap(raw);
      toReal.set(proxy, hostCallable(raw));
      return proxy;
    },
  };
}
