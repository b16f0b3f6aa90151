package edgebox_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"edgebox.dev/edgebox"
)

// A function box.call reaches with JSON arguments, through the host's envelope.
func ExampleExport() {
	edgebox.Export("sum", func(args []json.RawMessage) (any, error) {
		total := 0.0
		for _, arg := range args {
			var n float64
			if err := json.Unmarshal(arg, &n); err != nil {
				return nil, edgebox.BadRequest("sum takes numbers")
			}
			total += n
		}
		return total, nil
	})
	tag, out := edgebox.Invoke("sum", edgebox.TagJSON, []byte(`[1, 2, 3.5]`))
	fmt.Println(string(tag), string(out))
	tag, out = edgebox.Invoke("sum", edgebox.TagJSON, []byte(`["x"]`))
	fmt.Println(string(tag), string(out))
	// Output:
	// J 6.5
	// E {"code":"E_BAD_REQUEST","message":"sum takes numbers"}
}

// A function that takes and returns raw bytes (a Uint8Array on the page).
func ExampleExportBytes() {
	edgebox.ExportBytes("reverse", func(in []byte) ([]byte, error) {
		out := make([]byte, len(in))
		for i, b := range in {
			out[len(in)-1-i] = b
		}
		return out, nil
	})
	tag, out := edgebox.Invoke("reverse", edgebox.TagBytes, []byte{1, 2, 3})
	fmt.Println(string(tag), out)
	// Output: B [3 2 1]
}

// An ordinary net/http handler answering box.fetch: Go's own server writes
// the response, so it is what a client of a real server would read.
func ExampleServeEnvelope() {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello %s", r.URL.Query().Get("name"))
	})
	head, _ := json.Marshal(map[string]any{"method": "GET", "url": "https://box.example/hi?name=edge", "headers": [][2]string{}})
	request := append([]byte{byte(len(head)), 0, 0, 0}, head...)
	raw, _ := edgebox.ServeEnvelope(hello, request)
	response, _ := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	body, _ := io.ReadAll(response.Body)
	fmt.Println(response.Status, response.Header.Get("Content-Type"), response.ContentLength, string(body))
	// Output: 200 OK text/plain 10 hello edge
}
