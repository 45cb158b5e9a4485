package callrec

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestJSON(t *testing.T) {
	var rec Recorder[Call]
	var mu sync.Mutex
	creds := "ops:pw"
	s := httptest.NewServer(JSON(&rec, &mu, "api", func() string { return creds }, func(r *http.Request, body []byte) (int, any) {
		if r.Method == http.MethodGet {
			return http.StatusOK, map[string]any{"ok": true}
		}
		return http.StatusNoContent, nil
	}))
	defer s.Close()
	do := func(method, user string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+"/x?force=true", strings.NewReader(`{"a":1}`))
		if user != "" {
			req.SetBasicAuth(user, "pw")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := do(http.MethodGet, ""); r.StatusCode != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), `realm="api"`) {
		t.Fatalf("no credentials: %d %v", r.StatusCode, r.Header)
	}
	if r := do(http.MethodGet, "ops"); r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %v", r.StatusCode, r.Header)
	}
	if r := do(http.MethodPut, "ops"); r.StatusCode != 204 || r.Header.Get("Content-Type") != "" {
		t.Fatalf("PUT: %d %v", r.StatusCode, r.Header)
	}
	cs := rec.Calls()
	if len(cs) != 3 || cs[0].Status != 401 || cs[0].Body != nil || cs[2].String() != "PUT /x?force=true" || string(cs[2].Body) != `{"a":1}` {
		t.Fatalf("calls %v", cs)
	}
	if w := rec.Writes(); len(w) != 1 || w[0].Method != http.MethodPut {
		t.Fatalf("writes %v", w)
	}
	rec.Reset()
	if len(rec.Calls()) != 0 {
		t.Fatal("Reset kept calls")
	}
	creds = ""
	if r := do(http.MethodGet, ""); r.StatusCode != 200 {
		t.Fatalf("without credentials set: %d", r.StatusCode)
	}
}
