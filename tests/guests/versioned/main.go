//go:build js && wasm

// The versioned guest: answers with the VERSION its policy gives it, so a test
// sees which version served each call across a live update. With PANIC=1 in
// its policy, every call panics (a bad release, for the rollback tests).
package main

import (
	"os"
	"syscall/js"
	"time"
)

func main() {
	version := os.Getenv("VERSION")
	bad := os.Getenv("PANIC") == "1"
	js.Global().Set("version", js.FuncOf(func(js.Value, []js.Value) any {
		if bad {
			panic("bad release " + version)
		}
		return version
	}))
	// slow(ms): the version, after ms milliseconds (a call in flight during a switch).
	js.Global().Set("slow", js.FuncOf(func(_ js.Value, args []js.Value) any {
		ms := args[0].Int()
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, p []js.Value) any {
			go func() {
				time.Sleep(time.Duration(ms) * time.Millisecond)
				p[0].Invoke(version)
			}()
			return nil
		}))
	}))
	select {}
}
