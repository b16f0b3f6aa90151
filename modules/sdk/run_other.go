//go:build !(js && wasm)

package edgebox

import "net/http"

func serveJS(http.Handler) {}

// Run returns at once: a wasip1 module is driven through its exports (main
// does not even run), and on the host there is nothing to wait for.
func Run() {}
