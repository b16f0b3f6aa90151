package engine

import "edgebox.dev/edgebox"

// Serve answers box.fetch with the engine and the rules document a module
// ships: all a version of the risk-rules guest has to do, from init.
func Serve(rulesJSON []byte) {
	rules, err := ParseRules(rulesJSON)
	if err != nil {
		panic("rules.json: " + err.Error())
	}
	edgebox.Serve(NewHandler(rules))
}
