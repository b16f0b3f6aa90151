package engine

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func rules(t *testing.T, file string) *Rules {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRules(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func post(h http.Handler, body string) (int, map[string]any) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/edge/orders/check", strings.NewReader(body)))
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func TestVerdicts(t *testing.T) {
	h := NewHandler(rules(t, "../rules.json"))
	cases := []struct {
		order, verdict, reason string
	}{
		{`{"user":"a","region":"US","amount":12.5,"currency":"USD","items":[{"sku":"A1","qty":1,"price":12.5}]}`, "pass", ""},
		{`{"user":"b","region":"KP","amount":10,"currency":"USD","items":[{"sku":"A1","qty":1,"price":10}]}`, "block", "region KP is blocked"},
		{`{"user":"c","region":"FR","amount":4500,"currency":"EUR","items":[{"sku":"A1","qty":1,"price":4500}]}`, "review", "within 20%"},
		{`{"user":"d","region":"FR","amount":5500,"currency":"EUR","items":[{"sku":"A1","qty":1,"price":5500}]}`, "block", "over the FR limit"},
		{`{"user":"e","region":"US","amount":30,"currency":"USD","items":[{"sku":"GIFT-CARD","qty":3,"price":10}]}`, "block", "GIFT-CARD"},
		{`{"user":"f","region":"US","amount":60,"currency":"USD","items":[{"sku":"A1","qty":60,"price":1}]}`, "block", "quantity 60"},
	}
	for _, c := range cases {
		code, out := post(h, c.order)
		reasons, _ := json.Marshal(out["reasons"])
		if code != 200 || out["verdict"] != c.verdict || !strings.Contains(string(reasons), c.reason) {
			t.Errorf("%s: got %d %v", c.order, code, out)
		}
	}
}

func TestMalformedOrdersAre400WithAReason(t *testing.T) {
	h := NewHandler(rules(t, "../rules.json"))
	for order, reason := range map[string]string{
		`{`: "malformed order",
		`{"user":"a","region":"USA","amount":1,"currency":"USD","items":[{"sku":"A","qty":1,"price":1}]}`: "ISO 3166",
		`{"user":"a","region":"US","amount":2,"currency":"USD","items":[{"sku":"A","qty":1,"price":1}]}`:  "does not match",
		`{"user":"a","region":"US","amount":1,"currency":"XXX","items":[{"sku":"A","qty":1,"price":1}]}`:  "currency",
		`{"user":"","region":"US","amount":1,"currency":"USD","items":[{"sku":"A","qty":1,"price":1}]}`:   "user",
		`{"user":"a","region":"US","amount":1,"currency":"USD","items":[]}`:                                "items",
		`{"user":"a","region":"US","amount":1,"currency":"USD","items":[{"sku":"A","qty":0,"price":1}]}`:   "qty",
		`{"user":"a","extra":1}`: "unknown field",
	} {
		code, out := post(h, order)
		if code != 400 || !strings.Contains(out["error"].(string), reason) {
			t.Errorf("%s: got %d %v, want 400 with %q", order, code, out, reason)
		}
	}
}

func TestVelocity(t *testing.T) {
	h := NewHandler(rules(t, "../rules.json"))
	now := time.Unix(1_700_000_000, 0)
	h.now = func() time.Time { return now }
	order := `{"user":"fast","region":"US","amount":1,"currency":"USD","items":[{"sku":"A","qty":1,"price":1}]}`
	var verdicts []string
	for i := 0; i < 8; i++ {
		_, out := post(h, order)
		verdicts = append(verdicts, out["verdict"].(string))
	}
	want := "pass pass pass review review review review block"
	if got := strings.Join(verdicts, " "); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	now = now.Add(61 * time.Second)
	if _, out := post(h, order); out["verdict"] != "pass" {
		t.Errorf("after the window: %v", out)
	}
}

// TestVerdictsFor is the reference the browser suite compares with: it runs
// the orders in $EDGEBOX_ORDERS (a JSON array) through one handler, in order,
// and writes [{status, body}] to $EDGEBOX_VERDICTS. Without them it checks a
// small sequence of its own the same way.
func TestVerdictsFor(t *testing.T) {
	in, out := os.Getenv("EDGEBOX_ORDERS"), os.Getenv("EDGEBOX_VERDICTS")
	var orders []json.RawMessage
	if in == "" {
		orders = []json.RawMessage{json.RawMessage(`{"user":"x","region":"US","amount":1,"currency":"USD","items":[{"sku":"A","qty":1,"price":1}]}`), json.RawMessage(`{}`)}
	} else {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &orders); err != nil {
			t.Fatal(err)
		}
	}
	h := NewHandler(rules(t, "../rules.json"))
	type result struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	results := make([]result, len(orders))
	for i, order := range orders {
		results[i].Status, results[i].Body = post(h, string(order))
	}
	if results[0].Status == 0 {
		t.Fatal("no answer")
	}
	if out != "" {
		data, _ := json.Marshal(results)
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
