// box.fetch on the fallback edge server (EdgeBox.start({ fallback })), for a
// page where the box cannot run: the same request (path and query on the
// server's URL), the page's flags and user id in EdgeBox's headers, the same
// Response shape; a guest's failure is the server's {error: {code, message}}
// answer, as it is the box's, and a server that does not answer is E_NETWORK
// or E_TIMEOUT.
import { BadRequestError, NetworkError, TimeoutError, translatedStream } from "./errors.js";
import { NULL_BODY_STATUSES } from "./protocol.js";

/** head: {method, url, headers}; config: the box's validated options. Resolves to a Response. */
export async function fetchFromEdge(head, body, { fallback, flags, userId, callTimeoutMs }) {
  const { pathname, search } = new URL(head.url);
  const url = new URL(`.${pathname}${search}`, fallback).href;
  let headers;
  try {
    headers = new Headers(head.headers);
    headers.set("x-edgebox-flags", JSON.stringify(flags));
    headers.set("x-edgebox-user", userId);
  } catch (error) {
    throw new BadRequestError(`box.fetch(${head.url}): ${error.message}`, { cause: error });
  }
  const failure = (error) => (error?.name === "TimeoutError"
    ? new TimeoutError(`box.fetch(${head.url}): the edge server did not answer within ${callTimeoutMs} ms (callTimeoutMs)`)
    : new NetworkError(`box.fetch(${head.url}): the edge server ${url} did not answer: ${error?.message ?? error}`, { cause: error }));
  let response;
  try {
    response = await fetch(url, { method: head.method, headers, body: body ?? undefined, mode: "cors", credentials: "omit",
      redirect: "error", signal: AbortSignal.timeout(callTimeoutMs) });
  } catch (error) {
    throw failure(error);
  }
  const answer = new Headers(response.headers);
  answer.set("x-edgebox-where", "edge");
  const nullBody = NULL_BODY_STATUSES.includes(response.status) || head.method === "HEAD" || response.body === null;
  // The edge server's body as it arrives (a streamed answer streams on).
  return new Response(nullBody ? null : translatedStream(response.body, failure),
    { status: response.status, statusText: response.statusText, headers: answer });
}
