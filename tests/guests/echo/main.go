//go:build js && wasm

// The echo guest: the transport tests and the benchmark send it payloads of
// every size and check what comes back.
package main

import (
	"syscall/js"
	"time"
)

func main() {
	uint8Array := js.Global().Get("Uint8Array")
	// echo(bytes) copies bytes into Go and back out: the work a real handler does with a body.
	js.Global().Set("echo", js.FuncOf(func(_ js.Value, args []js.Value) any {
		in := make([]byte, args[0].Get("length").Int())
		js.CopyBytesToGo(in, args[0])
		out := uint8Array.New(len(in))
		js.CopyBytesToJS(out, in)
		return out
	}))
	js.Global().Set("echoValue", js.FuncOf(func(_ js.Value, args []js.Value) any { return args[0] }))
	// sleep(ms) answers after ms milliseconds, without blocking the guest.
	js.Global().Set("sleep", js.FuncOf(func(_ js.Value, args []js.Value) any {
		ms := args[0].Int()
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, p []js.Value) any {
			go func() {
				time.Sleep(time.Duration(ms) * time.Millisecond)
				p[0].Invoke(ms)
			}()
			return nil
		}))
	}))
	select {}
}
