// A hostile GOOS=wasip1 HTTP handler: one path per way to misbehave, for the
// edge server's tests (tests/edge). Each must cost only its own request.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"edgebox.dev/edgebox"
)

var sink []byte

func main() { edgebox.Run() }

func init() {
	mux := http.NewServeMux()
	mux.HandleFunc("/hostile/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/hostile/loop", func(w http.ResponseWriter, r *http.Request) {
		for {
		}
	})
	mux.HandleFunc("/hostile/stream-then-loop", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "data: before the loop\n\n")
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		for {
		}
	})
	mux.HandleFunc("/hostile/alloc", func(w http.ResponseWriter, r *http.Request) {
		sink = make([]byte, 2<<30)
		sink[len(sink)-1] = 1
		fmt.Fprint(w, len(sink))
	})
	mux.HandleFunc("/hostile/flood", func(w http.ResponseWriter, r *http.Request) {
		line := strings.Repeat("y", 1023) + "\n"
		for i := 0; i < 100*1024; i++ {
			fmt.Print(line)
		}
		fmt.Fprint(w, "wrote")
	})
	mux.HandleFunc("/hostile/file", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, err.Error())
			return
		}
		w.Write(data)
	})
	// The network: WASI preview1 has no sockets; Go's net package answers from the runtime.
	mux.HandleFunc("/hostile/dial", func(w http.ResponseWriter, r *http.Request) {
		conn, err := net.Dial("tcp", r.URL.Query().Get("addr"))
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, err.Error())
			return
		}
		conn.Close()
		fmt.Fprint(w, "reached")
	})
	mux.HandleFunc("/hostile/panic", func(w http.ResponseWriter, r *http.Request) { panic("hostile handler panicked on purpose") })
	edgebox.Serve(mux)
}
