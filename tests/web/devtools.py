"""A client of Chromium's browser-level DevTools endpoint, for what Playwright's
CDP session cannot reach: dedicated workers nested in a worker (the guests).

Every session it attaches to (pages, the host worker, the guest workers)
auto-attaches to its own children with ``flatten``, so each target is a
``sessionId`` on the one browser connection, and each has the debugger on.
"""

from __future__ import annotations

import json
import queue
import threading
import time

import websocket


class DevTools:
    def __init__(self, ws_url: str) -> None:
        self._ws = websocket.create_connection(ws_url, suppress_origin=True, timeout=60)
        self._next = 0
        self._replies: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self.events: list[dict] = []  # every event, with its sessionId
        self._seen = threading.Condition()
        self.sessions: dict[str, dict] = {}  # sessionId -> targetInfo
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        with self._lock:
            self._next += 1
            ident = self._next
            self._replies[ident] = queue.Queue()
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        reply = self._replies[ident].get(timeout=timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _post(self, method: str, params: dict, session: str) -> None:
        """Send without waiting (from the reader thread, which must not block on a reply)."""
        with self._lock:
            self._next += 1
            ident = self._next
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params, "sessionId": session}))

    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self._ws.recv())
            except Exception:
                return
            if "id" in message:
                if message["id"] in self._replies:
                    self._replies[message["id"]].put(message)
                continue
            if message.get("method") == "Target.attachedToTarget":
                session = message["params"]["sessionId"]
                self.sessions[session] = message["params"]["targetInfo"]
                self.attach_children(session, wait=False)
            with self._seen:
                self.events.append(message)
                self._seen.notify_all()

    def attach_children(self, session: str | None, wait: bool = True) -> None:
        """Debug ``session`` and auto-attach to its children (flattened), recursively."""
        send = (lambda m, p: self.send(m, p, session)) if wait else (lambda m, p: self._post(m, p, session))
        send("Target.setAutoAttach", {"autoAttach": True, "flatten": True, "waitForDebuggerOnStart": False})
        if session:
            send("Debugger.enable", {})
            send("Runtime.runIfWaitingForDebugger", {})

    def wait_for(self, predicate, timeout: float = 60) -> dict:
        """The first event (old or new) for which ``predicate(event)`` is true."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no such DevTools event")
                self._seen.wait(left)

    def close(self) -> None:
        self._ws.close()
