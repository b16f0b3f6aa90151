// Mode (e): the transport alone. The worker side of a channel.js ring that
// answers each message with itself: no host, no guest, no Go; what a round
// trip between the page and a worker costs at the least with EdgeBox's rings
// (the page polls for the reply, the worker polls and then blocks for the next call).
import { SharedChannel } from "../edgebox/channel.js";

self.onmessage = ({ data: shared }) => {
  const channel = new SharedChannel(shared, "worker", { linger: () => 1 });
  channel.onmessage = (message) => { channel.send(message); };
  self.postMessage({ ready: true });
};
