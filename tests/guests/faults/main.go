//go:build js && wasm

// The faults guest: one function per way a guest can fail, misbehave or lie.
// The containment and fault-injection tests call it; every call must end
// within timeout_ms with a value or an EdgeBoxError that names its own fault.
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall/js"
	"time"
)

var (
	global  = js.Global()
	object  = global.Get("Object")
	array   = global.Get("Array")
	promise = global.Get("Promise")
	jsonAPI = global.Get("JSON")
)

func export(name string, fn func(args []js.Value) any) {
	global.Set(name, js.FuncOf(func(_ js.Value, args []js.Value) any { return fn(args) }))
}

// never returns a promise that never settles.
func never() any {
	return promise.New(js.FuncOf(func(js.Value, []js.Value) any { return nil }))
}

func after(ms int, value any) any {
	return promise.New(js.FuncOf(func(_ js.Value, p []js.Value) any {
		go func() {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			p[0].Invoke(value)
		}()
		return nil
	}))
}

func main() {
	switch os.Getenv("START") { // how a module can fail before it serves anything
	case "panic":
		panic("start-up panicked on purpose")
	case "exit":
		os.Exit(0)
	}
	export("ok", func(args []js.Value) any { return args[0] })
	export("slow", func(args []js.Value) any { return after(args[0].Int(), args[1]) })
	export("big", func(args []js.Value) any { return global.Get("Uint8Array").New(args[0].Int()) })
	export("panic", func(args []js.Value) any { panic("fault injected: " + args[0].String()) })
	export("exit", func([]js.Value) any { os.Exit(3); return nil })
	export("hang", func([]js.Value) any {
		for {
		}
	})
	export("hangAsync", func([]js.Value) any { return never() })
	// wedge answers at once but leaves a goroutine that never yields: the
	// instance's event loop stops between calls.
	export("wedge", func([]js.Value) any {
		go func() {
			time.Sleep(20 * time.Millisecond) // after the call has answered
			for {
			}
		}()
		return "wedged"
	})
	export("panicLater", func(args []js.Value) any {
		return promise.New(js.FuncOf(func(_ js.Value, p []js.Value) any {
			go func() {
				time.Sleep(time.Duration(args[0].Int()) * time.Millisecond)
				panic("fault injected later")
			}()
			return nil
		}))
	})
	// A goroutine of this call panics after the call has answered: no call's own panic.
	export("spawnPanic", func(args []js.Value) any {
		go func() {
			time.Sleep(time.Duration(args[0].Int()) * time.Millisecond)
			panic("spawned goroutine")
		}()
		return "spawned"
	})
	// Text that looks like a panic, written by a healthy call.
	export("forgePanic", func([]js.Value) any {
		fmt.Fprintln(os.Stderr, "panic: forged\n\ngoroutine 1 [running]:\nmain.main()\n\t/forged.go:1")
		return "forged"
	})
	// Values the wire cannot carry.
	export("bigint", func([]js.Value) any {
		view := global.Get("DataView").New(global.Get("ArrayBuffer").New(8))
		return view.Call("getBigUint64", 0)
	})
	export("function", func([]js.Value) any { return js.FuncOf(func(js.Value, []js.Value) any { return nil }) })
	export("cycle", func([]js.Value) any {
		o := object.New()
		o.Set("self", o)
		return o
	})
	export("deep", func(args []js.Value) any {
		return jsonAPI.Call("parse", strings.Repeat("[", args[0].Int())+strings.Repeat("]", args[0].Int()))
	})
	export("sparse", func(args []js.Value) any { return array.New(args[0].Int()) })
	export("protoKey", func([]js.Value) any {
		return jsonAPI.Call("parse", `{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}`)
	})
	export("getter", func([]js.Value) any {
		o := object.New()
		object.Call("defineProperty", o, "x", map[string]any{
			"get": js.FuncOf(func(js.Value, []js.Value) any { return 1 }), "enumerable": true})
		return o
	})
	// A guest that claims a code that is not its own.
	export("claim", func(args []js.Value) any {
		e := global.Get("Error").New("I am " + args[0].String())
		e.Set("code", args[0])
		return e
	})
	// Failures that are hard to read: a message that is no string, a bare object, a code behind a getter.
	export("badMessage", func([]js.Value) any {
		e := global.Get("Error").New("x")
		e.Set("message", object.Call("create", nil))
		return e
	})
	export("rejectBare", func([]js.Value) any { return promise.Call("reject", object.Call("create", nil)) })
	export("getterCode", func([]js.Value) any {
		e := global.Get("Error").New("x")
		object.Call("defineProperty", e, "code", map[string]any{
			"get": js.FuncOf(func(js.Value, []js.Value) any { panic("a getter ran") })})
		return e
	})
	// Names: only granted files open.
	export("open", func(args []js.Value) any {
		data, err := os.ReadFile(args[0].String())
		if err != nil {
			return "error: " + err.Error()
		}
		return "read: " + string(data)
	})
	// Floods: audit events (reads of ungranted globals) and log lines.
	export("auditFlood", func(args []js.Value) any {
		for i := 0; i < args[0].Int(); i++ {
			global.Get("localStorage")
		}
		return "flooded"
	})
	export("logFlood", func(args []js.Value) any {
		line := strings.Repeat("x", args[1].Int())
		for i := 0; i < args[0].Int(); i++ {
			fmt.Println(i, line)
		}
		return "logged"
	})
	// Memory held as JavaScript values.
	export("holdStrings", func(args []js.Value) any {
		held := []js.Value{}
		chunk := strings.Repeat("x", args[1].Int())
		for i := 0; i < args[0].Int(); i++ {
			held = append(held, js.ValueOf(chunk+fmt.Sprint(i)))
		}
		return len(held)
	})
	export("fillArray", func(args []js.Value) any {
		return array.New(args[0].Int()).Call("fill", 0).Length()
	})
	// An array lengthened by a write, then filled: its length counts, holes included.
	export("lengthenFill", func(args []js.Value) any {
		kept := array.New()
		for i := 0; i < 40; i++ {
			a := array.New()
			a.Set("length", args[0].Int())
			a.Call("fill", 1.5)
			kept.Call("push", a)
		}
		return kept.Length()
	})
	// The methods of bytes, which cross unwrapped, make what they make through the membrane too.
	export("sliceBytes", func(args []js.Value) any {
		keep := array.New()
		bytes := global.Get("Uint8Array").New(1 << 20)
		for i := 0; i < args[0].Int(); i++ {
			keep.Call("push", bytes.Call("slice"))
		}
		return keep.Length()
	})
	// The network after the call has returned: work left behind may not use it.
	export("fetchLater", func(args []js.Value) any {
		url := args[0].String()
		go func() {
			time.Sleep(100 * time.Millisecond)
			global.Call("fetch", url)
		}()
		return "scheduled"
	})
	select {}
}
