package edgebox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"sort"

	"edgebox.dev/edgebox/internal/abi"
)

// Envelope tags: the byte before every payload Invoke takes and returns.
const (
	TagJSON  = abi.TagJSON
	TagBytes = abi.TagBytes
	TagError = abi.TagError
)

// The codes a guest may give its failures (web/guest-protocol.js GUEST_CODES);
// any other code a guest claims reaches the page as E_GUEST.
const (
	CodeBadRequest = "E_BAD_REQUEST"
	CodeConfig     = "E_CONFIG"
	CodeGuest      = "E_GUEST"
	CodeNotFound   = "E_NOT_FOUND"
)

// Error is a failure with a stable code the page sees as EdgeBoxError.code:
// one of the Code constants.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// BadRequest is the error for arguments a handler cannot use.
func BadRequest(message string) *Error { return &Error{Code: CodeBadRequest, Message: message} }

// A handler answers one envelope; part, when not nil, takes pieces of an HTTP
// answer before the rest is returned (abi.HTTPPart).
type handler func(tag byte, in []byte, part func([]byte)) (byte, []byte)

var handlers = map[string]handler{}

func init() {
	abi.Dispatch = dispatch
	abi.Names = Names
}

func register(name string, h handler) { handlers[name] = h }

// Export registers fn under name; box.call(module, name, ...args) reaches it
// with the arguments as a JSON array (one Uint8Array arrives as its base64
// string), and its result is sent back as JSON. Call it from init.
func Export(name string, fn func(args []json.RawMessage) (any, error)) {
	register(name, func(tag byte, in []byte, _ func([]byte)) (byte, []byte) {
		var args []json.RawMessage
		if tag == TagBytes {
			encoded, _ := json.Marshal(base64.StdEncoding.EncodeToString(in))
			args = []json.RawMessage{encoded}
		} else if err := json.Unmarshal(in, &args); err != nil {
			return failure(BadRequest("arguments are not a JSON array: " + err.Error()))
		}
		result, err := fn(args)
		if err != nil {
			return failure(err)
		}
		out, err := json.Marshal(result)
		if err != nil {
			return failure(&Error{Code: CodeGuest, Message: "result is not JSON: " + err.Error()})
		}
		return TagJSON, out
	})
}

// ExportBytes registers fn under name for raw bytes: box.call(module, name, uint8Array)
// resolves with a Uint8Array. Called with one string argument, fn gets its UTF-8 bytes.
func ExportBytes(name string, fn func(in []byte) ([]byte, error)) {
	exportBytes(name, func(in []byte, _ func([]byte)) ([]byte, error) { return fn(in) })
}

func exportBytes(name string, fn func(in []byte, part func([]byte)) ([]byte, error)) {
	register(name, func(tag byte, in []byte, part func([]byte)) (byte, []byte) {
		if tag == TagJSON {
			var args []string
			if err := json.Unmarshal(in, &args); err != nil || len(args) != 1 {
				return failure(BadRequest(name + " takes one Uint8Array (or one string)"))
			}
			in = []byte(args[0])
		}
		out, err := fn(in, part)
		if err != nil {
			return failure(err)
		}
		return TagBytes, out
	})
}

// Invoke runs a registered function on one envelope (tag, payload), exactly
// as the host does under either ABI, and returns the answer's envelope: what
// a test calls to see what the page would get.
func Invoke(name string, tag byte, in []byte) (byte, []byte) { return dispatch(name, tag, in, nil) }

func dispatch(name string, tag byte, in []byte, part func([]byte)) (byte, []byte) {
	h, ok := handlers[name]
	if !ok {
		return failure(&Error{Code: CodeNotFound, Message: "no exported function " + name})
	}
	if tag != TagJSON && tag != TagBytes {
		return failure(BadRequest("bad call envelope: no JSON or bytes tag"))
	}
	return h(tag, in, part)
}

// Names lists the registered functions.
func Names() []string {
	names := make([]string, 0, len(handlers))
	for name := range handlers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func failure(err error) (byte, []byte) {
	var coded *Error
	if !errors.As(err, &coded) {
		coded = &Error{Code: CodeGuest, Message: err.Error()}
	}
	out, _ := json.Marshal(coded)
	return TagError, out
}
