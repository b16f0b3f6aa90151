package edgebox

import (
	"bufio"
	"bytes"
	"context"
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
	s := newServer(h)
	exportBytes(HTTPExport, s.serve)
}

// ServeEnvelope answers one request envelope with h and returns what Go's own
// net/http server wrote for it: the HTTP/1.1 response bytes, informational
// (1xx) responses first, exactly as a client would read them off the wire.
// Go's server, not a recorder, makes the response, so every rule of net/http
// holds (bodiless statuses, Content-Length or chunked framing, sniffed
// Content-Type, headers changed after WriteHeader dropped, Flusher,
// http.ResponseController, trailers). A panic in h is re-raised here with the
// handler's own stack, so it ends the instance as any panic does.
//
// Each call starts a server of its own; Serve keeps one for its handler and
// its connections open between requests.
func ServeEnvelope(h http.Handler, envelope []byte) ([]byte, error) {
	s := newServer(h)
	defer s.close()
	return s.serve(envelope, nil)
}

// server is Go's http.Server for one handler over in-memory connections
// (memconn.go). A connection stays open between requests (HTTP/1.1
// keep-alive), as a browser's would, so a request costs a write and a read
// rather than a new server, connection and goroutines: under wasm that was
// most of a request.
type server struct {
	srv      *http.Server
	listener *memListener
	mu       sync.Mutex
	idle     []*clientConn
}

// maxIdle bounds the connections kept open: one per call in flight, which a
// GOOS=js module may have several of.
const maxIdle = 16

func newServer(h http.Handler) *server {
	listener := newMemListener()
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		state := r.Context().Value(connStateKey{}).(*connState)
		state.handling.Store(true)
		defer func() {
			state.handling.Store(false)
			if p := recover(); p != nil && p != http.ErrAbortHandler {
				report := fmt.Sprintf("%v\n\n[the handler's goroutine]\n%s", p, debug.Stack())
				state.panicked.CompareAndSwap(nil, &report)
				panic(http.ErrAbortHandler) // the server drops the connection, quietly
			} else if p != nil {
				panic(p)
			}
		}()
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{
		Handler:  guarded,
		ErrorLog: log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connStateKey{}, c.(*serverConn).state)
		},
		ConnState: func(c net.Conn, state http.ConnState) {
			if state == http.StateHijacked || state == http.StateClosed {
				c.(*serverConn).state.gone.Store(true) // the server reads no more requests on it
			}
		},
	}
	go srv.Serve(listener)
	return &server{srv: srv, listener: listener}
}

func (s *server) close() {
	s.listener.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.idle {
		c.conn.Close()
	}
	s.idle = nil
}

// take returns an idle connection, or opens one.
func (s *server) take() *clientConn {
	s.mu.Lock()
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c
	}
	s.mu.Unlock()
	client, side := memPipe()
	c := &clientConn{conn: client, state: &connState{}}
	c.reader = bufio.NewReader(io.TeeReader(client, &c.raw))
	if !s.listener.offer(&serverConn{memConn: side, state: c.state}) {
		client.Close() // the server is closed: the request reads EOF
	}
	return c
}

// give keeps c for the next request if the server will read one on it: the
// handler has returned, the server took the whole request, nothing more came,
// and neither side said close.
func (s *server) give(c *clientConn, resp *http.Response) {
	if resp.Close || resp.StatusCode == http.StatusSwitchingProtocols || c.state.handling.Load() ||
		c.state.gone.Load() || c.conn.unread() > 0 || c.reader.Buffered() > 0 {
		c.conn.Close()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle) >= maxIdle {
		c.conn.Close()
		return
	}
	s.idle = append(s.idle, c)
}

// serve answers one request envelope. Whenever the answer is not complete and
// the handler has written more than was handed on, yet waits (it flushed, then
// sleeps or reads the network), what it wrote goes to part, so that the page
// reads a streamed body while the handler still writes; the rest is returned.
// A handler that writes its answer and returns sends no part at all.
func (s *server) serve(envelope []byte, part func([]byte)) ([]byte, error) {
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
	return s.roundTrip(s.take(), req, part)
}

// roundTrip writes req on c and reads the server's answer up to the end of
// the final response: what part was not given.
func (s *server) roundTrip(c *clientConn, req *http.Request, part func([]byte)) ([]byte, error) {
	c.state.panicked.Store(nil)
	c.raw.Reset()
	if part != nil {
		// What was handed on leaves raw: a long stream holds only what is not yet given.
		c.conn.in.beforeWait(func() {
			if n := c.raw.Len(); n > 0 {
				part(c.raw.Bytes())
				c.raw.Next(n)
			}
		})
		defer c.conn.in.beforeWait(nil)
	}
	// Never blocks: the connection buffers what the handler has not read.
	w := bufio.NewWriter(c.conn)
	if err := req.Write(w); err != nil {
		c.conn.Close()
		return nil, BadRequest("bad request: " + err.Error())
	}
	if err := w.Flush(); err != nil {
		c.conn.Close()
		return nil, &Error{Code: CodeGuest, Message: "the server closed its connection: " + err.Error()}
	}
	for {
		resp, err := http.ReadResponse(c.reader, req)
		if err != nil {
			c.conn.Close()
			if report := c.state.panicked.Load(); report != nil {
				panic(*report)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &Error{Code: CodeGuest, Message: "the handler aborted the response (http.ErrAbortHandler)"}
			}
			return nil, &Error{Code: CodeGuest, Message: "the handler's response is not HTTP: " + err.Error()}
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if report := c.state.panicked.Load(); report != nil {
			c.conn.Close()
			panic(*report)
		}
		if err != nil {
			c.conn.Close()
			return nil, &Error{Code: CodeGuest, Message: "the handler aborted the response body: " + err.Error()}
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			out := bytes.Clone(c.raw.Bytes()[:max(0, c.raw.Len()-c.reader.Buffered())])
			s.give(c, resp)
			return out, nil
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

// connState is what the client and the server's side of one connection share.
type connState struct {
	panicked atomic.Pointer[string] // the handler's panic, with its stack
	handling atomic.Bool            // a handler runs
	gone     atomic.Bool            // the server closed or handed over (hijacked) the connection
}

type connStateKey struct{}

// serverConn is the server's end of a connection.
type serverConn struct {
	*memConn
	state *connState
}

type clientConn struct {
	conn   *memConn
	raw    bytes.Buffer // what the server wrote for the request in flight, less what was handed on
	reader *bufio.Reader
	state  *connState
}
