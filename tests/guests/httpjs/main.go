//go:build js && wasm

// httpecho as a GOOS=js guest: the same source as httpwasi.
package main

import (
	"edgebox.dev/edgebox"
	"edgebox.dev/testguests/httpecho"
)

func init() { httpecho.Register() }

func main() { edgebox.Run() }
