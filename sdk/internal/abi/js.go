//go:build js && wasm

package abi

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"syscall/js"
)

// Under GOOS=js the worker reaches the SDK's functions through two globals,
// with the same envelopes as the wasip1 exports (web/sdk-envelope.js builds
// and reads them for both kinds), so a function behaves the same under both.
func init() {
	js.Global().Set(JSExports, js.FuncOf(func(js.Value, []js.Value) any {
		names, _ := json.Marshal(Names())
		return string(names)
	}))
	// JSCall(name, envelope Uint8Array, part) returns a Promise of the
	// answer's envelope: a Promise, because the function may wait (on
	// net/http, say) and a js.FuncOf callback must not block. part, when a
	// function, takes the pieces of an HTTP answer sent before it (HTTPPart).
	js.Global().Set(JSCall, js.FuncOf(func(_ js.Value, args []js.Value) any {
		name := args[0].String()
		in := make([]byte, args[1].Get("length").Int())
		js.CopyBytesToGo(in, args[1])
		var part func([]byte)
		if len(args) > 2 && args[2].Type() == js.TypeFunction {
			sink := args[2]
			part = func(b []byte) {
				array := js.Global().Get("Uint8Array").New(len(b))
				js.CopyBytesToJS(array, b)
				sink.Invoke(array)
			}
		}
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, settle []js.Value) any {
			go answer(name, in, part, settle[0], settle[1])
			return nil
		}))
	}))
}

func answer(name string, in []byte, part func([]byte), resolve, reject js.Value) {
	// A panic here is this call's own: the goroutine is the SDK's, so the
	// worker could not tell whose it is. Say so with the panic and its stack;
	// the worker ends the instance in this call's name (E_PANIC).
	defer func() {
		if r := recover(); r != nil {
			report := js.Global().Get("Error").New(fmt.Sprintf("panic: %v\n\n%s", r, debug.Stack()))
			report.Set("code", HandlerPanicked)
			reject.Invoke(report)
		}
	}()
	var tag byte // an empty envelope has no tag: Dispatch refuses it as it refuses an unknown one
	if len(in) > 0 {
		tag, in = in[0], in[1:]
	}
	tag, out := Dispatch(name, tag, in, part)
	array := js.Global().Get("Uint8Array").New(len(out) + 1)
	js.CopyBytesToJS(array, append([]byte{tag}, out...))
	resolve.Invoke(array)
}
