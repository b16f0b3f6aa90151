// Package main is the heartbeat guest: it signs device heartbeats so that a
// page can check them next to the user instead of on a server.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Sign returns the hex of the first 8 bytes of HMAC-SHA256(key, nonce || ts),
// with ts formatted like C's "%.0f" so that JavaScript numbers (always
// float64) sign the same on every side.
func Sign(key []byte, tsMillis float64, nonce string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(nonce))
	mac.Write([]byte(strconv.FormatFloat(tsMillis, 'f', 0, 64)))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}
