// Package abi is the wire between the EdgeBox host and a guest module: the
// tag byte before every payload, the names the host calls, the HTTP
// envelope. Its twins are web/guest-protocol.js and
// app/edgebox/_guest_protocol.py; tests/test_parity.py holds the three
// together.
package abi

import (
	"encoding/binary"
	"encoding/json"
	"errors"
)

// Envelope tags: one byte before every payload that crosses the ABI.
const (
	TagJSON  byte = 'J'
	TagBytes byte = 'B'
	TagError byte = 'E'
)

// HTTPExport is the function the host calls with each request for Serve's handler.
const HTTPExport = "__edgebox_http"

// A piece of an HTTP answer, handed to the host while the handler still runs
// (it flushed, then waits): the host streams it on, and the call's answer is
// the rest. Under wasip1 the SDK imports ImportModule.HTTPPart(ptr, len);
// under GOOS=js, JSCall's third argument is a function taking a Uint8Array.
const (
	ImportModule = "edgebox"
	HTTPPart     = "http_part"
)

// The globals through which a GOOS=js worker calls the SDK: JSCall(name,
// envelope) answers a Promise of the answer's envelope, JSExports() the JSON
// array of the registered names (the twins of the wasip1 exports edgebox_call
// and edgebox_exports).
const (
	JSCall    = "edgebox_call"
	JSExports = "edgebox_exports"
)

// HandlerPanicked is the code of a GOOS=js guest's report that the function
// the SDK ran for a call panicked: the worker ends the instance in that
// call's name (under wasip1 the panic itself ends it).
const HandlerPanicked = "E_PANIC"

// Dispatch runs the function registered under name on one envelope
// (tag, payload) and returns the answer's envelope; part hands the host a
// piece of an HTTP answer before that (HTTPPart). Package edgebox sets it.
var Dispatch func(name string, tag byte, in []byte, part func([]byte)) (byte, []byte)

// Names lists the registered functions. Package edgebox sets it.
var Names func() []string

// SplitHTTP reads an HTTP envelope (either direction): a u32 little-endian
// length of a JSON head, the head, then the body bytes, untouched.
func SplitHTTP(envelope []byte, head any) ([]byte, error) {
	if len(envelope) < 4 {
		return nil, errors.New("too short")
	}
	n := binary.LittleEndian.Uint32(envelope)
	if uint64(n)+4 > uint64(len(envelope)) {
		return nil, errors.New("head runs past the end")
	}
	if err := json.Unmarshal(envelope[4:4+n], head); err != nil {
		return nil, err
	}
	return envelope[4+n:], nil
}

// JoinHTTP writes an HTTP envelope: the inverse of SplitHTTP.
func JoinHTTP(head any, body []byte) ([]byte, error) {
	encoded, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 4, 4+len(encoded)+len(body))
	binary.LittleEndian.PutUint32(out, uint32(len(encoded)))
	out = append(out, encoded...)
	return append(out, body...), nil
}
