// Package httpecho is a net/http handler that reports exactly what it got:
// the transport tests for edgebox.Serve run it as a js and as a wasip1 guest.
package httpecho

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
)

// Handler answers every path with the request's method, URL and headers in
// X-Echo-* response headers and the request body, byte for byte, as the
// response body; the status comes from ?status=.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if serveCase(w, r) {
			return
		}
		if r.URL.Query().Has("panic") {
			panic("handler panicked on purpose")
		}
		body, _ := io.ReadAll(r.Body)
		names := make([]string, 0, len(r.Header))
		for name := range r.Header {
			names = append(names, name)
		}
		sort.Strings(names)
		headers := map[string]string{}
		for _, name := range names {
			headers[name] = r.Header.Get(name)
		}
		encoded, _ := json.Marshal(headers)
		w.Header().Set("X-Echo-Method", r.Method)
		w.Header().Set("X-Echo-URL", r.URL.String())
		w.Header().Set("X-Echo-Headers", string(encoded))
		w.Header().Set("Content-Type", "application/octet-stream")
		status := http.StatusOK
		if s, err := strconv.Atoi(r.URL.Query().Get("status")); err == nil {
			status = s
		}
		w.WriteHeader(status)
		w.Write(body)
	})
	return mux
}
