package edgebox

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"

	"edgebox.dev/edgebox/internal/abi"
)

// HTTPExport is the function the host calls with each request for Serve's handler.
const HTTPExport = abi.HTTPExport

// An HTTP envelope (both directions): u32 little-endian length of a JSON head,
// the head, then the body bytes, untouched. Requests: {method, url, headers};
// responses: {status, headers}. headers are [name, value] pairs.
type requestHead struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers [][2]string `json:"headers"`
}

type responseHead struct {
	Status  int         `json:"status"`
	Headers [][2]string `json:"headers"`
}

// Serve registers h to answer the requests EdgeBox routes to this module
// (box.fetch on the page). Call it from init; then call Run from main.
// The handler is ordinary net/http code: test it with net/http/httptest.
func Serve(h http.Handler) {
	ExportBytes(HTTPExport, func(in []byte) ([]byte, error) { return ServeEnvelope(h, in) })
}

// ServeEnvelope answers one request envelope with h and returns the response
// envelope: what the host sends and gets back, for tests of the whole path.
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
		req.Header.Add(kv[0], kv[1])
	}
	req.RequestURI = req.URL.RequestURI()
	req.RemoteAddr = "edgebox:0"
	req.ContentLength = int64(len(body))
	w := &recorder{header: http.Header{}}
	h.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.header.Get("Content-Type") == "" && w.body.Len() > 0 {
		w.header.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	out := responseHead{Status: w.status}
	names := make([]string, 0, len(w.header))
	for name := range w.header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, value := range w.header[name] {
			out.Headers = append(out.Headers, [2]string{name, value})
		}
	}
	out.Headers = append(out.Headers, [2]string{"Content-Length", strconv.Itoa(w.body.Len())})
	return abi.JoinHTTP(out, w.body.Bytes())
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
