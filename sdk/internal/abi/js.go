//go:build js && wasm

package abi

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"syscall/js"
)

// Bind makes the function registered under name reachable for a GOOS=js
// guest: a global the worker calls with the call's arguments, returning a
// Promise of its answer. The arguments go through the same envelope as under
// wasip1 (one Uint8Array is bytes, anything else a JSON array), so a function
// behaves the same under both ABIs. A Promise, because the function may wait
// (on net/http, say) and a js.FuncOf callback must not block.
func Bind(name string) {
	js.Global().Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any {
		tag, in := envelope(args)
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, settle []js.Value) any {
			go answer(name, tag, in, settle[0], settle[1])
			return nil
		}))
	}))
}

func envelope(args []js.Value) (byte, []byte) {
	if len(args) == 1 {
		if in, ok := bytesOf(args[0]); ok {
			return TagBytes, in
		}
	}
	parts := make([]any, len(args))
	stringify := js.Global().Get("JSON").Get("stringify")
	for i, arg := range args {
		text := stringify.Invoke(arg)
		if text.Type() != js.TypeString { // undefined, a function: what JSON cannot carry
			parts[i] = nil
			continue
		}
		parts[i] = json.RawMessage(text.String())
	}
	in, _ := json.Marshal(parts)
	return TagJSON, in
}

// bytesOf copies a Uint8Array; anything else is not bytes. wasm_exec checks the
// type in the worker's own realm, which a guest cannot fake.
func bytesOf(v js.Value) (in []byte, ok bool) {
	if v.Type() != js.TypeObject {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			in, ok = nil, false
		}
	}()
	in = make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(in, v)
	return in, true
}

func answer(name string, tag byte, in []byte, resolve, reject js.Value) {
	// A panic here is this call's own: the goroutine is the SDK's, so the
	// worker could not tell whose it is. Say so with the panic and its stack;
	// the worker ends the instance in this call's name (E_PANIC).
	defer func() {
		if r := recover(); r != nil {
			reject.Invoke(failure(HandlerPanicked, fmt.Sprintf("panic: %v\n\n%s", r, debug.Stack())))
		}
	}()
	tag, out := Dispatch(name, tag, in)
	switch tag {
	case TagBytes:
		array := js.Global().Get("Uint8Array").New(len(out))
		js.CopyBytesToJS(array, out)
		resolve.Invoke(array)
	case TagJSON:
		resolve.Invoke(js.Global().Get("JSON").Call("parse", string(out)))
	default:
		var coded struct{ Code, Message string }
		_ = json.Unmarshal(out, &coded)
		reject.Invoke(failure(coded.Code, coded.Message))
	}
}

func failure(code, message string) js.Value {
	err := js.Global().Get("Error").New(message)
	err.Set("code", code)
	return err
}
