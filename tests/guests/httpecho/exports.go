package httpecho

import (
	"encoding/json"

	"edgebox.dev/edgebox"
)

// Register serves Handler and exports four functions, the same in a js and
// a wasip1 guest: sum (JSON numbers), reverse (bytes), panics and echo (its arguments).
func Register() {
	edgebox.Serve(Handler())
	edgebox.Export("sum", func(args []json.RawMessage) (any, error) {
		total := 0.0
		for _, arg := range args {
			var n float64
			if err := json.Unmarshal(arg, &n); err != nil {
				return nil, edgebox.BadRequest("sum takes numbers")
			}
			total += n
		}
		return map[string]any{"total": total, "count": len(args)}, nil
	})
	edgebox.ExportBytes("reverse", func(in []byte) ([]byte, error) {
		out := make([]byte, len(in))
		for i, b := range in {
			out[len(in)-1-i] = b
		}
		return out, nil
	})
	edgebox.Export("panics", func([]json.RawMessage) (any, error) { panic("exported function panicked on purpose") })
	edgebox.Export("echo", func(args []json.RawMessage) (any, error) { return args, nil })
}
