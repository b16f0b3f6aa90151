//go:build js && wasm

// The hostile guest: each exported function tries one escape from the
// sandbox and reports, as JSON, what it reached. tests/web/test_hostile.py
// drives it; a report that shows a reached capability fails the suite.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall/js"
	"time"
)

type report map[string]any

func kind(v js.Value) string { return v.Type().String() }

// safely runs f, turning a JavaScript exception (a Go panic in syscall/js) into text.
func safely(f func() any) (out any) {
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprintf("threw: %v", r)
		}
	}()
	return f()
}

func await(p js.Value) (js.Value, error) {
	done := make(chan struct{})
	var value js.Value
	var failure error
	onOK := js.FuncOf(func(_ js.Value, args []js.Value) any { value = args[0]; close(done); return nil })
	onErr := js.FuncOf(func(_ js.Value, args []js.Value) any {
		failure = fmt.Errorf("%s", safely(func() any { return args[0].Call("toString").String() }))
		close(done)
		return nil
	})
	p.Call("then", onOK, onErr)
	<-done
	return value, failure
}

// async exports fn as a function returning a Promise of its JSON report.
func async(name string, fn func(args []js.Value) report) {
	export(name, func(args []js.Value) any {
		executor := js.FuncOf(func(_ js.Value, pa []js.Value) any {
			resolve := pa[0]
			go func() { resolve.Invoke(encode(fn(args))) }()
			return nil
		})
		return js.Global().Get("Promise").New(executor)
	})
}

func sync(name string, fn func(args []js.Value) report) {
	export(name, func(args []js.Value) any { return encode(fn(args)) })
}

func export(name string, fn func(args []js.Value) any) {
	js.Global().Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any { return fn(args) }))
}

func encode(r report) string {
	out, _ := json.Marshal(r)
	return string(out)
}

func globals(names ...string) report {
	r := report{}
	for _, name := range names {
		r[name] = kind(js.Global().Get(name))
	}
	return r
}

func main() {
	sync("benign", func([]js.Value) report { return report{"ok": true} })
	// What an ordinary guest does, where its policy allows it.
	async("capabilities", func(args []js.Value) report {
		r := report{}
		if resp, err := http.Get(args[0].String()); err != nil {
			r["http"] = err.Error()
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r["http"], r["body"] = resp.StatusCode, string(body)
		}
		random := make([]byte, 16)
		_, err := rand.Read(random)
		r["rand"], r["randErr"] = hex.EncodeToString(random), fmt.Sprint(err)
		fmt.Println("hello from the guest's log")
		r["year"] = time.Now().Year()
		return r
	})
	sync("dom", func([]js.Value) report { return globals("document", "window", "self", "top", "parent", "globalThis", "location") })
	sync("storage", func([]js.Value) report {
		return globals("localStorage", "sessionStorage", "indexedDB", "caches", "cookieStore", "navigator")
	})
	sync("scripts", func([]js.Value) report { return globals("importScripts", "Worker", "SharedWorker", "import") })
	sync("postToPage", func([]js.Value) report {
		return globals("postMessage", "opener", "BroadcastChannel", "MessageChannel", "close", "onmessage")
	})
	async("fetchDirect", func(args []js.Value) report {
		_, err := await(js.Global().Call("fetch", args[0].String()))
		return report{"error": fmt.Sprint(err)}
	})
	async("fetchHTTP", func(args []js.Value) report {
		resp, err := http.Get(args[0].String())
		if err != nil {
			return report{"error": err.Error()}
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return report{"status": resp.StatusCode, "body": string(body)}
	})
	sync("constructorChain", func([]js.Value) report {
		object := js.Global().Get("Object")
		self := js.FuncOf(func(js.Value, []js.Value) any { return nil })
		date := js.Global().Get("Date").New()
		r := report{
			"Object.constructor": kind(object.Get("constructor")),
			"FuncOf.constructor": kind(self.Value.Get("constructor")),
			"Date.constructor":   kind(date.Get("constructor")),
			"Date.__proto__":     kind(date.Get("__proto__")),
			"Function":           kind(js.Global().Get("Function")),
		}
		// Bytes cross unwrapped, but what is reached from them (their methods, their constructor) crosses the membrane.
		fn := js.Global().Get("Uint8Array").New(1).Get("constructor").Get("constructor")
		r["bytes.constructor.constructor"] = kind(fn)
		r["Function('return globalThis')"] = safely(func() any {
			got := fn.Invoke("return globalThis").Invoke()
			return "reached " + kind(got.Get("fetch"))
		})
		return r
	})
	sync("protoWrite", func([]js.Value) report {
		obj := js.Global().Get("Object").New()
		obj.Set("__proto__", map[string]any{"polluted": true})
		safely(func() any { js.Global().Get("Object").Get("prototype").Set("polluted", true); return nil })
		raw := js.Global().Get("Uint8Array").New(1).Get("__proto__")
		safely(func() any { raw.Set("polluted", true); return nil })
		safely(func() any { raw.Get("__proto__").Get("__proto__").Set("polluted", true); return nil })
		return report{
			"object.polluted": kind(js.Global().Get("Object").New().Get("polluted")),
			"bytes.polluted":  kind(js.Global().Get("Uint8Array").New(1).Get("polluted")),
			"own.polluted":    kind(obj.Get("polluted")),
		}
	})
	sync("reflectEval", func([]js.Value) report { return globals("Reflect", "eval", "Function", "Proxy", "WebAssembly") })
	async("returnedObjects", func(args []js.Value) report {
		response, err := await(js.Global().Call("fetch", args[0].String()))
		if err != nil {
			return report{"error": err.Error()}
		}
		return report{
			"status":                   response.Get("status").Int(),
			"response.constructor":     kind(response.Get("constructor")),
			"response.__proto__":       kind(response.Get("__proto__")),
			"headers.constructor":      kind(response.Get("headers").Get("constructor")),
			"json.constructor":         kind(response.Get("json").Get("constructor")),
			"headers.get.prototype":    kind(response.Get("headers").Get("get").Get("prototype")),
		}
	})
	sync("sharedMemory", func([]js.Value) report { return globals("SharedArrayBuffer", "Atomics") })
	sync("timers", func([]js.Value) report {
		r := globals("setTimeout", "setInterval", "queueMicrotask", "requestAnimationFrame")
		for i := 0; i < 100000; i++ {
			time.AfterFunc(time.Hour, func() {})
		}
		r["goTimers"] = 100000
		return r
	})
	async("cryptoProbe", func([]js.Value) report {
		crypto := js.Global().Get("crypto")
		r := report{"getRandomValues": kind(crypto.Get("getRandomValues"))}
		_, err := await(crypto.Get("subtle").Call("digest", "SHA-1", js.Global().Get("Uint8Array").New(1)))
		r["SHA-1"] = fmt.Sprint(err)
		return r
	})
	async("files", func([]js.Value) report {
		granted, err1 := os.ReadFile("/etc/granted.txt")
		_, err2 := os.ReadFile("/etc/passwd")
		err3 := os.WriteFile("/etc/granted.txt", []byte("x"), 0o644)
		return report{"granted": string(granted), "grantedErr": fmt.Sprint(err1), "passwd": fmt.Sprint(err2), "write": fmt.Sprint(err3)}
	})
	sync("envArgs", func([]js.Value) report {
		return report{"env": os.Environ(), "args": os.Args}
	})
	sync("loop", func([]js.Value) report {
		for {
		}
	})
	sync("alloc2g", func([]js.Value) report {
		b := make([]byte, 2<<30)
		b[len(b)-1] = 1
		return report{"allocated": len(b)}
	})
	sync("goroutines", func([]js.Value) report {
		block := make(chan struct{})
		for i := 0; i < 1_000_000; i++ {
			go func() { <-block }()
		}
		return report{"started": 1_000_000}
	})
	sync("flood", func([]js.Value) report {
		line := strings.Repeat("x", 1023) + "\n"
		for i := 0; i < 100*1024; i++ {
			fmt.Print(line)
		}
		return report{"wrote": "100 MiB"}
	})
	sync("panicNow", func([]js.Value) report { panic("hostile guest panicked on purpose") })
	select {}
}
