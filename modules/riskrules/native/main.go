// The risk-rules handler compiled natively and served by Go's own net/http:
// the floor `build.py bench --edge` measures the edge server against.
//
//	go run ./riskrules/native -addr 127.0.0.1:8090 -rules riskrules/rules.json
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"edgebox.dev/modules/riskrules/engine"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	rulesFile := flag.String("rules", "riskrules/rules.json", "the rules document")
	flag.Parse()
	data, err := os.ReadFile(*rulesFile)
	if err != nil {
		log.Fatal(err)
	}
	rules, err := engine.ParseRules(data)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(*addr, engine.NewHandler(rules)))
}
