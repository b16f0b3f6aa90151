// The risk-rules guest, version 2: the same engine, stricter rules (the gray-release candidate).
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
