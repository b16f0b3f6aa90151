package edgebox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"edgebox.dev/edgebox/internal/abi"
)

func envelope(t testing.TB, method, url string, body string, headers ...[2]string) []byte {
	t.Helper()
	if headers == nil {
		headers = [][2]string{}
	}
	out, err := abi.JoinHTTP(requestHead{Method: method, URL: url, Headers: headers}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func read(t testing.TB, raw []byte) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("not HTTP: %v\n%s", err, raw)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// countingServer is a server whose handler counts the connections its requests came on.
func countingServer(h http.Handler) (*server, *int) {
	seen := map[*connState]bool{}
	opened := 0
	s := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if state := r.Context().Value(connStateKey{}).(*connState); !seen[state] {
			seen[state] = true
			opened++
		}
		h.ServeHTTP(w, r)
	}))
	return s, &opened
}

// nextWithin is the body of a GET /next on s, failing the test with stuck if it takes 5 s.
func nextWithin(t *testing.T, s *server, stuck string) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		raw, _ := s.serve(envelope(t, "GET", "https://box.example/next", ""), nil)
		_, body := read(t, raw)
		done <- body
	}()
	select {
	case body := <-done:
		return body
	case <-time.After(5 * time.Second):
		t.Fatal(stuck)
		return ""
	}
}

func TestServeKeepsOneConnectionForSequentialRequests(t *testing.T) {
	s, opened := countingServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Path", r.URL.Path)
		w.Write(bytes.ToUpper(body))
	}))
	defer s.close()
	for i, word := range []string{"one", "two", "three"} {
		raw, err := s.serve(envelope(t, "POST", "https://box.example/p"+word, word), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := read(t, raw)
		t.Logf("%d %q", i, raw)
		if body != strings.ToUpper(word) || resp.Header.Get("X-Path") != "/p"+word {
			t.Fatalf("request %d answered %q %v", i, body, resp.Header)
		}
	}
	if *opened != 1 {
		t.Fatalf("three sequential requests opened %d connections, want 1", *opened)
	}
}

func TestServeAnswersAfterAHandlerThatLeftItsBodyUnread(t *testing.T) {
	s, _ := countingServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ignore" {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Write(body)
	}))
	defer s.close()
	big := strings.Repeat("x", 1<<20)
	raw, err := s.serve(envelope(t, "POST", "https://box.example/ignore", big), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := read(t, raw); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	raw, err = s.serve(envelope(t, "POST", "https://box.example/echo", "after"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, body := read(t, raw); body != "after" {
		t.Fatalf("the next request read %q", body)
	}
}

func TestServeDoesNotQueueBehindAHandlerStillRunning(t *testing.T) {
	release := make(chan struct{})
	s, opened := countingServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			w.Header().Set("Content-Length", "2")
			w.Write([]byte("ok"))
			w.(http.Flusher).Flush()
			<-release // the whole answer is out; the handler goes on
			return
		}
		w.Write([]byte("next"))
	}))
	defer s.close()
	defer close(release)
	if _, err := s.serve(envelope(t, "GET", "https://box.example/early", ""), nil); err != nil {
		t.Fatal(err)
	}
	if body := nextWithin(t, s, "the second request waited for the first handler to return"); body != "next" {
		t.Fatalf("read %q", body)
	}
	if *opened != 2 {
		t.Fatalf("opened %d connections, want 2 (the first was still busy)", *opened)
	}
}

func TestServeReRaisesAPanicAndServesTheNextRequest(t *testing.T) {
	s, _ := countingServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		w.Write([]byte("fine"))
	}))
	defer s.close()
	func() {
		defer func() {
			p := recover()
			if p == nil || !strings.HasPrefix(p.(string), "boom\n\n[the handler's goroutine]") {
				t.Fatalf("recovered %v", p)
			}
		}()
		s.serve(envelope(t, "GET", "https://box.example/panic", ""), nil)
	}()
	raw, err := s.serve(envelope(t, "GET", "https://box.example/ok", ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, body := read(t, raw); body != "fine" {
		t.Fatalf("read %q", body)
	}
}

func TestServeGivesInformationalResponsesFirstAndClosesWhenAsked(t *testing.T) {
	s, opened := countingServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Connection", "close")
		w.Write([]byte("done"))
	}))
	defer s.close()
	for range 2 {
		raw, err := s.serve(envelope(t, "GET", "https://box.example/", ""), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(raw, []byte("HTTP/1.1 103 Early Hints\r\n")) {
			t.Fatalf("raw starts %q", raw[:40])
		}
		final := raw[bytes.Index(raw, []byte("\r\n\r\n"))+4:]
		if resp, body := read(t, final); resp.StatusCode != 200 || body != "done" || !resp.Close {
			t.Fatalf("final %d %q close=%v", resp.StatusCode, body, resp.Close)
		}
	}
	if *opened != 2 {
		t.Fatalf("opened %d connections, want 2: the handler said close", *opened)
	}
}

var benchHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var order map[string]any
	json.NewDecoder(r.Body).Decode(&order)
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"verdict":"pass","reasons":[]}`))
})

const benchOrder = `{"user":"u1","region":"US","amount":12.5,"currency":"USD","items":[{"sku":"A1","qty":1,"price":12.5}]}`

func BenchmarkServe(b *testing.B) {
	s := newServer(benchHandler)
	defer s.close()
	in := envelope(b, "POST", "https://box.example/edge/orders/check", benchOrder, [2]string{"content-type", "application/json"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.serve(in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServeEnvelope(b *testing.B) {
	in := envelope(b, "POST", "https://box.example/edge/orders/check", benchOrder, [2]string{"content-type", "application/json"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ServeEnvelope(benchHandler, in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestServeAnswersAfterAHandlerThatHijackedAndKeptTheConnection(t *testing.T) {
	var kept []any
	s, opened := countingServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hijack" {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nraw")
			buf.Flush()
			kept = append(kept, conn) // never closed: the connection is the handler's now
			return
		}
		w.Write([]byte("next"))
	}))
	defer s.close()
	raw, err := s.serve(envelope(t, "GET", "https://box.example/hijack", ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, body := read(t, raw); body != "raw" {
		t.Fatalf("read %q", body)
	}
	if body := nextWithin(t, s, "the next request went to the hijacked connection"); body != "next" || *opened != 2 {
		t.Fatalf("read %q on %d connections", body, *opened)
	}
}

// A handler that writes its answer and returns hands on no part: the whole
// answer is the call's result. Under wasm one thread runs every goroutine, so
// the client reads only once the handler waits or returns: so here.
func TestServeGivesNoPartForAnAnswerWrittenAtOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 100_000)))
	}))
	defer s.close()
	parts := 0
	raw, err := s.serve(envelope(t, "GET", "https://box.example/", ""), func([]byte) { parts++ })
	if err != nil || parts != 0 {
		t.Fatalf("parts %d, err %v", parts, err)
	}
	if _, body := read(t, raw); len(body) != 100_000 {
		t.Fatalf("body of %d bytes", len(body))
	}
}

// What a handler flushed reaches part while the handler waits: here it waits
// for that very part, so only a streamed answer lets it finish.
func TestServeHandsOnWhatWasFlushedWhileTheHandlerWaits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // as under wasm: see above
	given := make(chan struct{})
	s := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusEarlyHints)
		w.Write([]byte("data: first\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-given:
		case <-time.After(5 * time.Second):
			t.Error("the flushed part was not handed on while the handler waited")
		}
		w.Write([]byte("data: second\n\n"))
	}))
	defer s.close()
	var parts []byte
	rest, err := s.serve(envelope(t, "GET", "https://box.example/", ""), func(b []byte) {
		parts = append(parts, b...)
		if bytes.Contains(parts, []byte("data: first")) && !bytes.Contains(parts, []byte("data: second")) {
			select {
			case <-given:
			default:
				close(given)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(parts), "HTTP/1.1 103 Early Hints\r\n") || !strings.HasSuffix(string(parts), "data: first\n\n\r\n") {
		t.Fatalf("parts %q", parts)
	}
	whole := bufio.NewReader(bytes.NewReader(append(parts, rest...)))
	if hints, err := http.ReadResponse(whole, nil); err != nil || hints.StatusCode != http.StatusEarlyHints {
		t.Fatalf("not the 103 first: %v", err)
	}
	resp, err := http.ReadResponse(whole, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "data: first\n\ndata: second\n\n" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// A long stream holds only what it has not handed on: 4 MiB streamed in 64
// KiB pieces leaves the connection's buffer far smaller than the stream.
func TestServeKeepsNoMoreOfAStreamThanItHasNotHandedOn(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // as under wasm: see above
	piece := []byte(strings.Repeat("x", 64<<10))
	s := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 64; i++ {
			w.Write(piece)
			w.(http.Flusher).Flush()
			time.Sleep(time.Millisecond)
		}
	}))
	defer s.close()
	given := 0
	rest, err := s.serve(envelope(t, "GET", "https://box.example/", ""), func(b []byte) { given += len(b) })
	if err != nil || given+len(rest) < 4<<20 {
		t.Fatalf("%d bytes given, %d returned, err %v", given, len(rest), err)
	}
	if len(s.idle) != 1 || s.idle[0].raw.Cap() > 1<<20 {
		t.Fatalf("the connection's buffer holds %d bytes of capacity after a 4 MiB stream", s.idle[0].raw.Cap())
	}
}
