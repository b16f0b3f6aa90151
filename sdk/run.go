package edgebox

import "runtime"

// Run keeps a GOOS=js module alive to answer calls: call it last in main. It
// returns at once elsewhere: a wasip1 module is driven through its exports
// (its main does not even run), and in a test there is nothing to wait for.
// So `func main() { edgebox.Run() }` is right for either kind.
func Run() {
	if runtime.GOOS == "js" {
		select {}
	}
}
