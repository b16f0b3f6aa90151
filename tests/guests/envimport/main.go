//go:build wasip1

// Imports a function from a module the host never provides.
package main

import (
	"encoding/json"

	"edgebox.dev/edgebox"
)

//go:wasmimport env anything
func anything() int32

func init() {
	edgebox.Export("reach", func([]json.RawMessage) (any, error) { return anything(), nil })
}

func main() {}
