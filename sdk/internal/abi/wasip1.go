//go:build wasip1

package abi

import (
	"encoding/json"
	"unsafe"
)

// The wasip1 call ABI: the host writes a call's name and envelope into
// buffers it asks for (edgebox_alloc), calls edgebox_call, reads the answer
// from the packed (pointer << 32 | length) result and frees every buffer.

// Buffers the host may read or write, kept alive until it frees them.
var buffers = map[uint32][]byte{}

func keep(b []byte) uint32 {
	if cap(b) == 0 {
		b = make([]byte, 0, 1)
	}
	ptr := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:cap(b)]))))
	buffers[ptr] = b
	return ptr
}

func result(b []byte) uint64 { return uint64(keep(b))<<32 | uint64(len(b)) }

//go:wasmexport edgebox_alloc
func edgeboxAlloc(size uint32) uint32 { return keep(make([]byte, size)) }

//go:wasmexport edgebox_free
func edgeboxFree(ptr uint32) { delete(buffers, ptr) }

//go:wasmexport edgebox_exports
func edgeboxExports() uint64 {
	out, _ := json.Marshal(Names())
	return result(out)
}

//go:wasmexport edgebox_call
func edgeboxCall(namePtr, nameLen, inPtr, inLen uint32) uint64 {
	name := string(buffers[namePtr][:nameLen])
	in := buffers[inPtr][:inLen]
	var tag byte // an empty envelope has no tag: Dispatch refuses it as it refuses an unknown one
	if len(in) > 0 {
		tag, in = in[0], in[1:]
	}
	tag, out := Dispatch(name, tag, in, part)
	return result(append([]byte{tag}, out...))
}

//go:wasmimport edgebox http_part
func httpPart(ptr, size uint32)

// part hands the host a piece of the answer of the call in progress: under
// wasip1 one call runs at a time, so the host knows whose it is.
func part(b []byte) {
	if len(b) > 0 {
		httpPart(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))), uint32(len(b)))
	}
}
