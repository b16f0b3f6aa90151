// The httpecho handler on a native net/http server: the ground truth the
// fidelity tests compare EdgeBox with. It prints its address, then serves
// the handler and, at /blank, an empty page to fetch from (same origin).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	"edgebox.dev/testguests/httpecho"
)

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/blank", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!doctype html><title>native</title>")
	})
	mux.Handle("/", httpecho.Handler())
	fmt.Printf("http://%s\n", listener.Addr())
	os.Stdout.Sync()
	http.Serve(listener, mux)
}
