// The risk-rules guest, version 2: the same engine, stricter rules (the gray-release candidate).
package main

import (
	_ "embed"

	edgebox "edgebox.dev/modules/sdk"

	"edgebox.dev/modules/riskrules/engine"
)

//go:embed rules.json
var rulesJSON []byte

func init() {
	rules, err := engine.ParseRules(rulesJSON)
	if err != nil {
		panic("rules.json: " + err.Error())
	}
	edgebox.Serve(engine.NewHandler(rules))
}

func main() { edgebox.Run() }
