// A team's own module, as a QA suite tests it: an export, an HTTP handler, and
// two ways to be refused (the network under GOOS=js, a file under wasip1).
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"edgebox.dev/edgebox"
)

type order struct {
	User   string  `json:"user"`
	Region string  `json:"region"`
	Amount float64 `json:"amount"`
}

func score(o order) int { return int(o.Amount/5) + 1 }

func init() {
	edgebox.Export("score", func(args []json.RawMessage) (any, error) {
		var o order
		if len(args) != 1 || json.Unmarshal(args[0], &o) != nil {
			return nil, edgebox.BadRequest("score(order)")
		}
		fmt.Printf("scoring %s: %.2f\n", o.User, o.Amount)
		return score(o), nil
	})
	edgebox.Export("phone_home", func(args []json.RawMessage) (any, error) {
		resp, err := http.Get("https://tracker.invalid/collect")
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	})
	edgebox.Export("read_secret", func(args []json.RawMessage) (any, error) {
		data, err := os.ReadFile("/etc/passwd")
		if err != nil {
			return nil, err
		}
		return string(data), nil
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rules/check", func(w http.ResponseWriter, r *http.Request) {
		var o order
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			http.Error(w, "bad order", http.StatusBadRequest)
			return
		}
		verdict := "pass"
		if score(o) > 10 {
			verdict = "review"
		}
		w.Header().Set("content-type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"verdict": verdict, "score": score(o)})
	})
	edgebox.Serve(mux)
}

func main() { edgebox.Run() }
