// Package engine is the order risk-rule engine behind POST /edge/orders/check:
// amount limits per region, item and quantity limits, blocked regions, and
// velocity (many orders from one user in a short time), with a review band
// between pass and block. The rules are data (a JSON document the module
// ships); the handler is plain net/http.
package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Rules is the JSON document a module ships (rules.json).
type Rules struct {
	Version        string             `json:"version"`
	Currencies     []string           `json:"currencies"`
	BlockedRegions []string           `json:"blocked_regions"`
	AmountLimits   map[string]float64 `json:"amount_limits"` // region -> limit; "default" for the rest
	ReviewBand     float64            `json:"review_band"`   // an amount above ReviewBand*limit is reviewed
	MaxItems       int                `json:"max_items"`
	MaxQuantity    int                `json:"max_quantity"`
	SKULimits      map[string]int     `json:"sku_limits"`
	Velocity       struct {
		WindowSeconds int `json:"window_seconds"`
		ReviewAfter   int `json:"review_after"` // this many orders in the window (this one included): review
		BlockAfter    int `json:"block_after"`
	} `json:"velocity"`
}

// ParseRules reads and checks a rules document.
func ParseRules(data []byte) (*Rules, error) {
	var r Rules
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if _, ok := r.AmountLimits["default"]; !ok || r.ReviewBand <= 0 || r.ReviewBand >= 1 {
		return nil, fmt.Errorf("rules need amount_limits.default and a review_band between 0 and 1")
	}
	return &r, nil
}

type Item struct {
	SKU   string  `json:"sku"`
	Qty   int     `json:"qty"`
	Price float64 `json:"price"`
}

type Order struct {
	User     string  `json:"user"`
	Region   string  `json:"region"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
	Items    []Item  `json:"items"`
}

type Verdict struct {
	Verdict string   `json:"verdict"` // pass, review or block
	Reasons []string `json:"reasons"`
}

var region = regexp.MustCompile(`^[A-Z]{2}$`)

// Validate returns why an order is malformed, or "".
func (r *Rules) Validate(o *Order) string {
	switch {
	case strings.TrimSpace(o.User) == "":
		return "user is required"
	case !region.MatchString(o.Region):
		return "region must be an ISO 3166 alpha-2 code, like US"
	case math.IsNaN(o.Amount) || o.Amount <= 0:
		return "amount must be a positive number"
	case !contains(r.Currencies, o.Currency):
		return fmt.Sprintf("currency must be one of %s", strings.Join(r.Currencies, ", "))
	case len(o.Items) == 0:
		return "items must list at least one item"
	}
	total := 0.0
	for i, item := range o.Items {
		if strings.TrimSpace(item.SKU) == "" {
			return fmt.Sprintf("items[%d].sku is required", i)
		}
		if item.Qty < 1 {
			return fmt.Sprintf("items[%d].qty must be at least 1", i)
		}
		if item.Price < 0 || math.IsNaN(item.Price) {
			return fmt.Sprintf("items[%d].price must not be negative", i)
		}
		total += float64(item.Qty) * item.Price
	}
	if math.Abs(total-o.Amount) > 0.01 {
		return fmt.Sprintf("amount %.2f does not match the items (%.2f)", o.Amount, total)
	}
	return ""
}

// Evaluate judges a valid order; ordersInWindow counts this user's recent orders, this one included.
func (r *Rules) Evaluate(o *Order, ordersInWindow int) Verdict {
	var block, review []string
	if contains(r.BlockedRegions, o.Region) {
		block = append(block, fmt.Sprintf("region %s is blocked", o.Region))
	}
	limit, ok := r.AmountLimits[o.Region]
	if !ok {
		limit = r.AmountLimits["default"]
	}
	switch {
	case o.Amount > limit:
		block = append(block, fmt.Sprintf("amount %.2f is over the %s limit of %.2f", o.Amount, o.Region, limit))
	case o.Amount > r.ReviewBand*limit:
		review = append(review, fmt.Sprintf("amount %.2f is within %.0f%% of the %s limit", o.Amount, (1-r.ReviewBand)*100, o.Region))
	}
	if r.MaxItems > 0 && len(o.Items) > r.MaxItems {
		block = append(block, fmt.Sprintf("%d items is over the limit of %d", len(o.Items), r.MaxItems))
	}
	perSKU := map[string]int{}
	for _, item := range o.Items {
		perSKU[item.SKU] += item.Qty
		if r.MaxQuantity > 0 && item.Qty > r.MaxQuantity {
			block = append(block, fmt.Sprintf("quantity %d of %s is over the limit of %d", item.Qty, item.SKU, r.MaxQuantity))
		}
	}
	skus := make([]string, 0, len(perSKU))
	for sku := range perSKU {
		skus = append(skus, sku)
	}
	sort.Strings(skus)
	for _, sku := range skus {
		if max, ok := r.SKULimits[sku]; ok && perSKU[sku] > max {
			block = append(block, fmt.Sprintf("%d of %s is over its limit of %d per order", perSKU[sku], sku, max))
		}
	}
	v := r.Velocity
	switch {
	case v.BlockAfter > 0 && ordersInWindow >= v.BlockAfter:
		block = append(block, fmt.Sprintf("%d orders from %s in %ds", ordersInWindow, o.User, v.WindowSeconds))
	case v.ReviewAfter > 0 && ordersInWindow >= v.ReviewAfter:
		review = append(review, fmt.Sprintf("%d orders from %s in %ds", ordersInWindow, o.User, v.WindowSeconds))
	}
	switch {
	case len(block) > 0:
		return Verdict{"block", append(block, review...)}
	case len(review) > 0:
		return Verdict{"review", review}
	}
	return Verdict{"pass", []string{}}
}

// Handler answers POST /edge/orders/check and GET /edge/orders/rules.
type Handler struct {
	rules *Rules
	now   func() time.Time
	mu    sync.Mutex
	seen  map[string][]time.Time // user -> recent order times
	mux   *http.ServeMux
}

func NewHandler(rules *Rules) *Handler {
	h := &Handler{rules: rules, now: time.Now, seen: map[string][]time.Time{}, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /edge/orders/check", h.check)
	h.mux.HandleFunc("GET /edge/orders/rules", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, h.rules) })
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) check(w http.ResponseWriter, r *http.Request) {
	var o Order
	decoder := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&o); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed order: " + err.Error()})
		return
	}
	if reason := h.rules.Validate(&o); reason != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": reason})
		return
	}
	writeJSON(w, http.StatusOK, h.rules.Evaluate(&o, h.record(o.User)))
}

// record notes an order from user and returns how many fall in the window.
func (h *Handler) record(user string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	cutoff := now.Add(-time.Duration(h.rules.Velocity.WindowSeconds) * time.Second)
	kept := h.seen[user][:0]
	for _, t := range h.seen[user] {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	h.seen[user] = append(kept, now)
	return len(h.seen[user])
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(value)
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}
