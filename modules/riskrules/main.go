// The risk-rules guest, version 1: the engine with the rules it ships.
package main

import (
	_ "embed"

	"edgebox.dev/edgebox"

	"edgebox.dev/modules/riskrules/engine"
)

//go:embed rules.json
var rulesJSON []byte

func init() { engine.Serve(rulesJSON) }

func main() { edgebox.Run() }
