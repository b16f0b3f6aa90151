package httpecho

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// Cases are handlers that exercise net/http's server rules, each named by the
// last part of its path (/case/<name>, under any prefix). The fidelity tests
// fetch each from a native net/http server and from EdgeBox and compare.
var Cases = map[string]http.HandlerFunc{
	"early-hints": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "after the hints")
	},
	"late-header": func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		w.Header().Set("X-Too-Late", "dropped")
		fmt.Fprint(w, "accepted")
	},
	"flusher": func(w http.ResponseWriter, r *http.Request) {
		flusher, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "no Flusher", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			flusher.Flush()
		}
	},
	// Server-sent events, ?events= of them (3), ?ms= apart (50): each flushed, then a wait,
	// so a client reads each as it is sent.
	"stream": func(w http.ResponseWriter, r *http.Request) {
		events, ms := 3, 50
		fmt.Sscan(r.URL.Query().Get("events"), &events)
		fmt.Sscan(r.URL.Query().Get("ms"), &ms)
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < events; i++ {
			if i > 0 {
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
		}
	},
	// Hostile streams, never fetched from the native server: one that sends an event,
	// then spins until its time limit ends it; one that flushes ?size= bytes (1) at a
	// time, ?count= times or else for ?ms= (500), yielding after each so that each is
	// handed on, then says "end".
	"stream-then-spin": func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "data: before the spin\n\n")
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		for {
		}
	},
	"flush-flood": func(w http.ResponseWriter, r *http.Request) {
		ms, size, count := 500, 1, 0
		fmt.Sscan(r.URL.Query().Get("ms"), &ms)
		fmt.Sscan(r.URL.Query().Get("size"), &size)
		fmt.Sscan(r.URL.Query().Get("count"), &count)
		piece := []byte(strings.Repeat("x", size))
		until := time.Now().Add(time.Duration(ms) * time.Millisecond)
		for i := 0; (count > 0 && i < count) || (count == 0 && time.Now().Before(until)); i++ {
			w.Write(piece)
			w.(http.Flusher).Flush()
			runtime.Gosched()
		}
		fmt.Fprint(w, "end")
	},
	// A body whose Content-Encoding lies: a browser fails reading it (never fetched natively here).
	"broken-gzip": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("this is not gzip at all"))
	},
	"controller": func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		fmt.Fprint(w, "first ")
		if err := rc.Flush(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "second")
	},
	"no-content": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Kind", "none")
		w.WriteHeader(http.StatusNoContent)
		fmt.Fprint(w, "a body 204 may not have")
	},
	"not-modified": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	},
	"reset-content": func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusResetContent)
	},
	"sniffed": func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!DOCTYPE html><html><body>sniffed</body></html>")
	},
	"no-content-type": func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // net/http: do not sniff, send none
		fmt.Fprint(w, "<html>not sniffed</html>")
	},
	"explicit-length": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		fmt.Fprint(w, "hello")
	},
	"gzip": func(w http.ResponseWriter, r *http.Request) {
		var packed bytes.Buffer
		z := gzip.NewWriter(&packed)
		z.Write([]byte(strings.Repeat("compressed hello ", 40)))
		z.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain")
		w.Write(packed.Bytes())
	},
	"deflate": func(w http.ResponseWriter, r *http.Request) {
		var packed bytes.Buffer
		z := zlib.NewWriter(&packed)
		z.Write([]byte(strings.Repeat("deflated hello ", 40)))
		z.Close()
		w.Header().Set("Content-Encoding", "deflate")
		w.Write(packed.Bytes())
	},
	"trailers": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		fmt.Fprint(w, "body before trailers")
		w.Header().Set("X-Checksum", "42")
	},
	"large": func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 2000; i++ {
			fmt.Fprintf(w, "line %04d of a body larger than one write buffer\n", i)
		}
	},
	"error": func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "I'm a teapot", http.StatusTeapot)
	},
	"latin1-header": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Raw-Byte", "caf\xe9")
		w.Header().Set("X-Utf8", "café")
		w.Header().Add("X-Twice", "a")
		w.Header().Add("X-Twice", "b")
		fmt.Fprint(w, "headers")
	},
	"request": func(w http.ResponseWriter, r *http.Request) {
		// What the handler was given, beyond what a browser adds of its own.
		fmt.Fprintf(w, "%s %s %s host=%v len=%d chunked=%v x-thing=%q",
			r.Method, r.RequestURI[strings.Index(r.RequestURI, "/case/"):], r.Proto, r.Host != "", r.ContentLength,
			len(r.TransferEncoding) > 0, r.Header.Get("X-Thing"))
	},
}

func serveCase(w http.ResponseWriter, r *http.Request) bool {
	i := strings.Index(r.URL.Path, "/case/")
	if i < 0 {
		return false
	}
	handler, ok := Cases[r.URL.Path[i+len("/case/"):]]
	if !ok {
		http.NotFound(w, r)
		return true
	}
	handler(w, r)
	return true
}
