//go:build js && wasm

package main

import (
	"os"
	"syscall/js"
)

func main() {
	// The key is deployment configuration: it arrives through the module's
	// policy (its env), never as a literal in the guest.
	key := []byte(os.Getenv("HEARTBEAT_KEY"))
	js.Global().Set("verifyHeartbeat", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(key) == 0 {
			return guestError("E_CONFIG", "HEARTBEAT_KEY is not configured for this module")
		}
		if len(args) != 2 || args[0].Type() != js.TypeNumber || args[1].Type() != js.TypeString {
			return guestError("E_BAD_REQUEST", "verifyHeartbeat(tsMillis: number, nonce: string)")
		}
		return Sign(key, args[0].Float(), args[1].String())
	}))
	select {}
}

// guestError is how a js guest reports a failure: a JS Error carrying a code.
func guestError(code, message string) js.Value {
	err := js.Global().Get("Error").New(message)
	err.Set("code", code)
	return err
}
