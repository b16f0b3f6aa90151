// httpecho as a GOOS=wasip1 guest.
package main

import (
	edgebox "edgebox.dev/modules/sdk"
	"edgebox.dev/testguests/httpecho"
)

func init() { edgebox.Serve(httpecho.Handler()) }

func main() { edgebox.Run() }
