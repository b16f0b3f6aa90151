// httpecho as a GOOS=wasip1 guest: the same source as httpjs.
package main

import (
	"edgebox.dev/edgebox"
	"edgebox.dev/testguests/httpecho"
)

func init() { httpecho.Register() }

func main() { edgebox.Run() }
