//go:build !(js && wasm)

package abi

// Bind does nothing outside GOOS=js: a wasip1 host calls through the
// edgebox_call export, and a test calls edgebox.Invoke.
func Bind(string) {}
