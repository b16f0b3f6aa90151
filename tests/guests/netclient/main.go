//go:build js && wasm

// The net/http client as page authors use it under plain wasm_exec.js: the
// tests compare what it gets inside EdgeBox with what the browser's fetch gives.
package main

import (
	"fmt"
	"io"
	"net/http"
	"syscall/js"
	"time"
)

// get(url, timeoutMs, firstBytes) answers a Promise of "status <code> body <n bytes> <first bytes>
// after <ms>" or "error <message> after <ms>". With firstBytes > 0 it reads only that many bytes of
// the body and says how long they took to arrive.
func get(url string, timeout time.Duration, first int) string {
	started := time.Now()
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Sprintf("error %v after %d", err, time.Since(started).Milliseconds())
	}
	defer resp.Body.Close()
	if first > 0 {
		buf := make([]byte, first)
		n, err := io.ReadFull(resp.Body, buf)
		return fmt.Sprintf("status %d first %q (%v) after %d", resp.StatusCode, buf[:n], err, time.Since(started).Milliseconds())
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Sprintf("status %d body error %v after %d", resp.StatusCode, err, time.Since(started).Milliseconds())
	}
	return fmt.Sprintf("status %d body %d %q after %d", resp.StatusCode, len(body), body, time.Since(started).Milliseconds())
}

func main() {
	js.Global().Set("get", js.FuncOf(func(_ js.Value, args []js.Value) any {
		url, timeout, first := args[0].String(), time.Duration(args[1].Int())*time.Millisecond, args[2].Int()
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, p []js.Value) any {
			go func() { p[0].Invoke(get(url, timeout, first)) }()
			return nil
		}))
	}))
	select {}
}
