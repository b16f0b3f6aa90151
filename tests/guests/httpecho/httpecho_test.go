package httpecho

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

func TestEchoUnderHttptest(t *testing.T) {
	body := []byte{0, 1, 2, 255, 254}
	req := httptest.NewRequest("PUT", "/echo/x?status=201", bytes.NewReader(body))
	req.Header.Set("X-Thing", "yes")
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, req)
	if w.Code != 201 || !bytes.Equal(w.Body.Bytes(), body) || w.Header().Get("X-Echo-Method") != "PUT" {
		t.Fatalf("got %d %v %v", w.Code, w.Body.Bytes(), w.Header())
	}
}
