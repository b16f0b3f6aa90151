package edgebox_test

import (
	"encoding/json"
	"fmt"
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

// An ordinary net/http handler answering box.fetch, through the host's envelope.
func ExampleServeEnvelope() {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello %s", r.URL.Query().Get("name"))
	})
	head, _ := json.Marshal(map[string]any{"method": "GET", "url": "https://box.example/hi?name=edge", "headers": [][2]string{}})
	request := append([]byte{byte(len(head)), 0, 0, 0}, head...)
	response, _ := edgebox.ServeEnvelope(hello, request)
	headLength := int(response[0])
	fmt.Println(string(response[4:4+headLength]), string(response[4+headLength:]))
	// Output: {"status":200,"headers":[["Content-Type","text/plain"],["Content-Length","10"]]} hello edge
}
