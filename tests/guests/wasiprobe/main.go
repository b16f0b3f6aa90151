// The wasip1 probe: the same escapes as the hostile js guest, for a
// GOOS=wasip1 module built with the EdgeBox SDK, plus the SDK's own
// round trips (JSON and bytes).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"edgebox.dev/edgebox"
)

func init() {
	edgebox.Export("benign", func([]json.RawMessage) (any, error) { return map[string]bool{"ok": true}, nil })
	edgebox.Export("echo", func(args []json.RawMessage) (any, error) { return args, nil })
	edgebox.Export("sum", func(args []json.RawMessage) (any, error) {
		total := 0.0
		for _, raw := range args {
			var n float64
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, edgebox.BadRequest("sum takes numbers")
			}
			total += n
		}
		return total, nil
	})
	edgebox.ExportBytes("reverse", func(in []byte) ([]byte, error) {
		out := make([]byte, len(in))
		for i, b := range in {
			out[len(in)-1-i] = b
		}
		return out, nil
	})
	edgebox.Export("files", func([]json.RawMessage) (any, error) {
		granted, err1 := os.ReadFile("/data/config.json")
		_, err2 := os.ReadFile("/etc/passwd")
		err3 := os.WriteFile("/data/config.json", []byte("x"), 0o644)
		return map[string]string{"granted": string(granted), "grantedErr": fmt.Sprint(err1), "passwd": fmt.Sprint(err2), "write": fmt.Sprint(err3)}, nil
	})
	edgebox.Export("envArgs", func([]json.RawMessage) (any, error) {
		return map[string]any{"env": os.Environ(), "args": os.Args}, nil
	})
	edgebox.Export("clock", func([]json.RawMessage) (any, error) {
		start := time.Now()
		time.Sleep(20 * time.Millisecond)
		return map[string]any{"year": start.Year(), "slept_ms": time.Since(start).Milliseconds()}, nil
	})
	edgebox.Export("loop", func([]json.RawMessage) (any, error) {
		for {
		}
	})
	edgebox.Export("alloc2g", func([]json.RawMessage) (any, error) {
		b := make([]byte, 2<<30)
		b[len(b)-1] = 1
		return len(b), nil
	})
	edgebox.Export("flood", func([]json.RawMessage) (any, error) {
		line := strings.Repeat("y", 1023) + "\n"
		for i := 0; i < 100*1024; i++ {
			fmt.Print(line)
		}
		return "wrote", nil
	})
	edgebox.Export("panicNow", func([]json.RawMessage) (any, error) { panic("wasip1 guest panicked on purpose") })
}

func main() {}
