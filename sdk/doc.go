// Package edgebox is the guest side of EdgeBox: Go code a page runs in its
// sandbox, for either kind of module, GOOS=wasip1 or GOOS=js, from one source.
//
// A module exports functions that box.call(module, fn, ...args) reaches, with
// JSON or raw bytes in and out, and serves HTTP with an ordinary net/http
// handler that box.fetch reaches:
//
//	func init() {
//		edgebox.Export("sum", func(args []json.RawMessage) (any, error) { ... })
//		edgebox.ExportBytes("reverse", func(in []byte) ([]byte, error) { ... })
//		edgebox.Serve(mux)
//	}
//	func main() { edgebox.Run() }
//
// Built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, the host calls the
// module through its exports and main never runs. Built with GOOS=js
// GOARCH=wasm, each function becomes a global the guest worker calls and Run
// keeps the program alive. Both kinds take and give the same envelopes, so a
// function answers the same way under either. A GOOS=js module may also
// register functions the ordinary wasm_exec way (js.Global().Set with
// js.FuncOf) and block with select {}.
//
// A failure a function returns reaches the page as an EdgeBoxError with the
// Error's code (one of the Code constants; BadRequest makes the usual one;
// any other error is CodeGuest). A panic, an exit or a limit ends the
// instance: the host replaces it and the call that caused it gets E_PANIC
// (with the Go stack), E_CRASHED or E_LIMIT.
//
// Functions and handlers are plain Go: call them from ordinary go tests (a
// handler with net/http/httptest), or through Invoke and ServeEnvelope to
// exercise the very envelopes the host uses.
package edgebox
