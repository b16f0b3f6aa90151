// Reads a file without being granted any: it imports path_open, which the
// host provides only to modules whose policy grants files.
package main

import (
	"encoding/json"
	"os"

	"edgebox.dev/edgebox"
)

func init() {
	edgebox.Export("read", func([]json.RawMessage) (any, error) {
		data, err := os.ReadFile("/etc/passwd")
		return string(data), err
	})
}

func main() {}
