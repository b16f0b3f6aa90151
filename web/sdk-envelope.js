// A call to a function the Go SDK exports, the same for both kinds of module:
// the arguments become one envelope (a tag byte, then one Uint8Array argument
// as bytes or the arguments as JSON), and the answer's envelope becomes the
// value or a typed error. instance-wasip1.js passes envelopes through the
// module's edgebox_call export; instance-js.js through the SDK's edgebox_call
// global (sdk/internal/abi).
import { Envelope } from "./guest-protocol.js";
import { errno } from "./gojs.js";
import { Refusal, jsonArgs } from "./values.js";

const RealUint8Array = Uint8Array;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const parse = JSON.parse;

/**
 * The envelope of a call to `fn` as [tag, payload], for a caller that writes it
 * where it goes (a wasip1 module's memory) without a copy in between;
 * E_BAD_REQUEST naming the argument JSON cannot carry.
 */
export function callEnvelopeParts(fn, args) {
  const bytesIn = args.length === 1 && args[0] instanceof RealUint8Array;
  try {
    return bytesIn ? [Envelope.BYTES, args[0]] : [Envelope.JSON, encoder.encode(jsonArgs(args))];
  } catch (error) {
    throw error instanceof Refusal ? errno("E_BAD_REQUEST", `${fn}: ${error.explain("args")}`) : error;
  }
}

/** The envelope of a call to `fn`, as one array (see callEnvelopeParts). */
export function callEnvelope(fn, args) {
  const [tag, payload] = callEnvelopeParts(fn, args);
  const envelope = new RealUint8Array(payload.length + 1);
  envelope[0] = tag;
  envelope.set(payload, 1);
  return envelope;
}

/** The value an answer's envelope holds; its error (the guest's code) or E_GUEST if it is not one. */
export function answerOf(out) {
  if (!(out instanceof RealUint8Array) || out.length === 0) throw errno("E_GUEST", "the guest's answer is not the SDK's envelope");
  const body = out.subarray(1);
  if (out[0] === Envelope.BYTES) return body;
  let value = null;
  try {
    value = body.length ? parse(decoder.decode(body)) : null;
  } catch {
    throw errno("E_GUEST", "the guest's answer is not the SDK's envelope");
  }
  if (out[0] === Envelope.ERROR) throw errno(String(value?.code ?? "E_GUEST"), String(value?.message ?? ""));
  if (out[0] !== Envelope.JSON) throw errno("E_GUEST", "the guest's answer is not the SDK's envelope");
  return value;
}

/** The SDK's list of exports, from the JSON text edgebox_exports answers; E_LOAD if it is not one. */
export function exportedNames(text) {
  let names;
  try {
    names = typeof text === "string" ? parse(text) : null;
  } catch {
    names = null;
  }
  if (!Array.isArray(names) || names.length > 10000 || !names.every((name) => typeof name === "string" && name.length <= 256)) {
    throw errno("E_LOAD", "edgebox_exports did not answer a JSON array of function names");
  }
  return names;
}
