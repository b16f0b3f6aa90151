package edgebox

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestEnvelopes(t *testing.T) {
	Export("sum", func(args []json.RawMessage) (any, error) {
		total := 0.0
		for _, raw := range args {
			var n float64
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, BadRequest("numbers only")
			}
			total += n
		}
		return total, nil
	})
	ExportBytes("rev", func(in []byte) ([]byte, error) {
		out := make([]byte, len(in))
		for i, b := range in {
			out[len(in)-1-i] = b
		}
		return out, nil
	})
	Export("fails", func([]json.RawMessage) (any, error) { return nil, errors.New("plain") })

	cases := []struct {
		name     string
		tag      byte
		in, want string
		wantTag  byte
	}{
		{"sum", TagJSON, "[1,2,3.5]", "6.5", TagJSON},
		{"sum", TagJSON, `["x"]`, `{"code":"E_BAD_REQUEST","message":"numbers only"}`, TagError},
		{"sum", TagJSON, `{`, "", TagError},
		{"rev", TagBytes, "abc", "cba", TagBytes},
		{"rev", TagJSON, `["xy"]`, "yx", TagBytes},
		{"fails", TagJSON, "[]", `{"code":"E_GUEST","message":"plain"}`, TagError},
		{"missing", TagJSON, "[]", `{"code":"E_NOT_FOUND","message":"no exported function missing"}`, TagError},
		{"sum", 0, "", `{"code":"E_BAD_REQUEST","message":"bad call envelope: no JSON or bytes tag"}`, TagError},
		{"rev", 'X', "abc", `{"code":"E_BAD_REQUEST","message":"bad call envelope: no JSON or bytes tag"}`, TagError},
	}
	for _, c := range cases {
		tag, out := Invoke(c.name, c.tag, []byte(c.in))
		if tag != c.wantTag || (c.want != "" && string(out) != c.want) {
			t.Errorf("%s(%q) = %c %s, want %c %s", c.name, c.in, tag, out, c.wantTag, c.want)
		}
	}
	if got := Names(); len(got) != 3 || got[0] != "fails" {
		t.Errorf("Names() = %v", got)
	}
}
