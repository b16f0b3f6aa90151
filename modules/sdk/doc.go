// Package edgebox is the guest side of EdgeBox: Go code a page runs in its
// sandbox, for either kind of module.
//
// A GOOS=wasip1 module exports functions that box.call(module, fn, ...args)
// reaches, with JSON or raw bytes in and out, and never runs main:
//
//	func init() {
//		edgebox.Export("sum", func(args []json.RawMessage) (any, error) { ... })
//		edgebox.ExportBytes("reverse", func(in []byte) ([]byte, error) { ... })
//	}
//	func main() {}
//
// Either kind serves HTTP: an ordinary net/http handler answers box.fetch
// (test it with net/http/httptest, as on a server); a GOOS=js module then
// blocks in Run:
//
//	func init() { edgebox.Serve(mux) }
//	func main() { edgebox.Run() }
//
// A GOOS=js module may also register functions the ordinary wasm_exec way
// (js.Global().Set with js.FuncOf) and block with select {}.
//
// A failure a handler returns reaches the page as an EdgeBoxError with the
// Error's code (one of the Code constants; BadRequest makes the usual one).
// A panic, an exit or a limit ends the instance: the host replaces it and the
// call that caused it gets E_PANIC, E_CRASHED or E_LIMIT.
//
// build.py compiles a wasip1 module with GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared, a js one with GOOS=js GOARCH=wasm. Handlers are plain
// Go functions: call them from ordinary go tests, or through Invoke and
// ServeEnvelope to exercise the same envelopes the host uses.
package edgebox
