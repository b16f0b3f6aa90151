//go:build js && wasm

// httpecho as a GOOS=js guest.
package main

import (
	edgebox "edgebox.dev/modules/sdk"
	"edgebox.dev/testguests/httpecho"
)

func main() {
	edgebox.Serve(httpecho.Handler())
	edgebox.Run()
}
