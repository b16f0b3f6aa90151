//go:build js && wasm

// The canary announces that it ran: at start it requests /__canary/started
// with its CANARY_ID, which the test server records. If bytes that fail the
// integrity check ever ran, the test would see the request.
package main

import (
	"os"
	"syscall/js"
)

func main() {
	js.Global().Call("fetch", "/__canary/started?id="+os.Getenv("CANARY_ID"))
	js.Global().Set("ping", js.FuncOf(func(js.Value, []js.Value) any { return "pong" }))
	select {}
}
