package edgebox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"edgebox.dev/edgebox/internal/abi"
)

// HTTPExport is the function the host calls with each request for Serve's handler.
const HTTPExport = abi.HTTPExport

// A request envelope: u32 little-endian length of a JSON head, the head, then
// the body bytes, untouched. headers are [name, value] pairs.
type requestHead struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers"`
}

// Serve registers h to answer the requests EdgeBox routes to this module
// (box.fetch on the page). Call it from init; then call Run from main.
// The handler is ordinary net/http code: test it with net/http/httptest.
func Serve(h http.Handler) {
	ExportBytes(HTTPExport, func(in []byte) ([]byte, error) { return ServeEnvelope(h, in) })
}

// ServeEnvelope answers one request envelope with h and returns what Go's own
// net/http server wrote for it: the HTTP/1.1 response bytes, informational
// (1xx) responses first, exactly as a client would read them off the wire.
// Go's server, not a recorder, makes the response, so every rule of net/http
// holds (bodiless statuses, Content-Length or chunked framing, sniffed
// Content-Type, headers changed after WriteHeader dropped, Flusher,
// http.ResponseController, trailers). A panic in h is re-raised here with the
// handler's own stack, so it ends the instance as any panic does.
func ServeEnvelope(h http.Handler, envelope []byte) ([]byte, error) {
	var head requestHead
	body, err := abi.SplitHTTP(envelope, &head)
	if err != nil {
		return nil, BadRequest("bad request envelope: " + err.Error())
	}
	req, err := http.NewRequest(head.Method, head.URL, bytes.NewReader(body))
	if err != nil {
		return nil, BadRequest("bad request: " + err.Error())
	}
	for _, kv := range head.Headers {
		req.Header.Add(kv[0], byteString(kv[1]))
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header["User-Agent"] = []string{""} // Request.Write would add Go's own
	}

	client, server := net.Pipe()
	defer client.Close()
	var panicked atomic.Pointer[string]
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil && p != http.ErrAbortHandler {
				report := fmt.Sprintf("%v\n\n[the handler's goroutine]\n%s", p, debug.Stack())
				panicked.CompareAndSwap(nil, &report)
				panic(http.ErrAbortHandler) // the server drops the connection, quietly
			} else if p != nil {
				panic(p)
			}
		}()
		h.ServeHTTP(w, r)
	})
	listener := &oneConn{conn: &pipeConn{server}, closed: make(chan struct{})}
	srv := &http.Server{Handler: guarded, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(listener)
	defer listener.Close()

	go func() {
		// Its own goroutine: a handler may answer before it reads the body, and a pipe has no buffer.
		w := bufio.NewWriter(client)
		if req.Write(w) == nil {
			w.Flush()
		}
	}()
	var raw bytes.Buffer
	reader := bufio.NewReader(io.TeeReader(client, &raw))
	for {
		resp, err := http.ReadResponse(reader, req)
		if err != nil {
			if report := panicked.Load(); report != nil {
				panic(*report)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &Error{Code: CodeGuest, Message: "the handler aborted the response (http.ErrAbortHandler)"}
			}
			return nil, &Error{Code: CodeGuest, Message: "the handler's response is not HTTP: " + err.Error()}
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if report := panicked.Load(); report != nil {
			panic(*report)
		}
		if err != nil {
			return nil, &Error{Code: CodeGuest, Message: "the handler aborted the response body: " + err.Error()}
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return raw.Bytes()[:raw.Len()-reader.Buffered()], nil
		}
	}
}

// byteString turns a header value from the page, a Fetch ByteString (each
// character at most U+00FF) that JSON carried as UTF-8, back into the bytes a
// browser would send on the wire, so a handler reads what a server would.
func byteString(value string) string {
	out := make([]byte, 0, len(value))
	for _, r := range value {
		if r > 0xFF {
			r = '?' // not a ByteString: the page's Headers refuses it before it gets here
		}
		out = append(out, byte(r))
	}
	return string(out)
}

// oneConn is a net.Listener that hands out one connection, then waits to be closed.
type oneConn struct {
	mu     sync.Mutex
	conn   net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *oneConn) Accept() (net.Conn, error) {
	l.mu.Lock()
	conn := l.conn
	l.conn = nil
	l.mu.Unlock()
	if conn != nil {
		return conn, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConn) Addr() net.Addr { return edgeboxAddr{} }

// pipeConn is the server's side of the pipe, with the address a handler sees as r.RemoteAddr.
type pipeConn struct{ net.Conn }

func (pipeConn) RemoteAddr() net.Addr { return edgeboxAddr{} }
func (pipeConn) LocalAddr() net.Addr  { return edgeboxAddr{} }

type edgeboxAddr struct{}

func (edgeboxAddr) Network() string { return "edgebox" }
func (edgeboxAddr) String() string  { return "edgebox:0" }
