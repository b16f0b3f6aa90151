// The debuggee: a guest for the debugging tests (tests/web/test_debugging.py,
// tests/build/test_sourcemap.py), built with `build.py module --debug`. Each
// function of its main package is one the tests pause in, by a line of Go.
package main

import (
	"encoding/json"
	"strings"

	"edgebox.dev/edgebox"
)

type scale struct{ factor int }

// apply is a method on a pointer receiver: Go spells it main.(*scale).apply,
// its linker main.__scale_.apply.
func (s *scale) apply(x int) int {
	y := x * s.factor
	return offset(y)
}

func offset(y int) int {
	return y + 1
}

func shout(word string) string {
	upper := strings.ToUpper(word)
	return upper + "!"
}

func explode(what string) {
	panic("explode: " + what)
}

func number(args []json.RawMessage) int {
	var n int
	if len(args) > 0 {
		json.Unmarshal(args[0], &n)
	}
	return n
}

func text(args []json.RawMessage) string {
	var s string
	if len(args) > 0 {
		json.Unmarshal(args[0], &s)
	}
	return s
}

func init() {
	edgebox.Export("apply", func(args []json.RawMessage) (any, error) {
		s := &scale{factor: 3}
		return s.apply(number(args)), nil
	})
	edgebox.Export("shout", func(args []json.RawMessage) (any, error) {
		return shout(text(args)), nil
	})
	edgebox.Export("explode", func(args []json.RawMessage) (any, error) {
		explode(text(args))
		return nil, nil
	})
	edgebox.Export("descend", func(args []json.RawMessage) (any, error) {
		return descend(number(args)), nil
	})
}

func main() { edgebox.Run() }

// descend recurses as deep as it is asked: deep enough, the wasm stack runs
// out, a trap that Go's runtime never sees (so it prints no traceback).
func descend(n int) int {
	if n == 0 {
		return 0
	}
	return descend(n-1) + 1
}
