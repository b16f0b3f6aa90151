//go:build js && wasm

package edgebox

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"syscall/js"
)

// The code of a handler's panic report (web/guest-protocol.js HANDLER_PANICKED).
const handlerPanicked = "E_PANIC"

// serveJS makes Serve's handler reachable for a GOOS=js guest: a global
// function that takes the request envelope (a Uint8Array) and returns a
// Promise of the response envelope. A Promise, because a handler may wait
// (on net/http, say) and a js.FuncOf callback must not block.
func serveJS(h http.Handler) {
	js.Global().Set(HTTPExport, js.FuncOf(func(_ js.Value, args []js.Value) any {
		in := make([]byte, args[0].Get("length").Int())
		js.CopyBytesToGo(in, args[0])
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, p []js.Value) any {
			go func() {
				// A panic here is this request's own: the goroutine is the SDK's, so the
				// worker could not tell whose it is. Say so with the panic and its stack;
				// the worker ends the instance in this call's name (E_PANIC).
				defer func() {
					if r := recover(); r != nil {
						report := js.Global().Get("Error").New(fmt.Sprintf("panic: %v\n\n%s", r, debug.Stack()))
						report.Set("code", handlerPanicked)
						p[1].Invoke(report)
					}
				}()
				out, err := ServeEnvelope(h, in)
				if err != nil {
					p[1].Invoke(err.Error())
					return
				}
				array := js.Global().Get("Uint8Array").New(len(out))
				js.CopyBytesToJS(array, out)
				p[0].Invoke(array)
			}()
			return nil
		}))
	}))
}

// Run keeps a GOOS=js guest alive to answer calls: call it last in main.
func Run() { select {} }
