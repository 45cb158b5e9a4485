package standin

import (
	"net/http"
	"strings"
	"testing"
)

func put(t *testing.T, s *Server, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPut(t *testing.T) {
	s := New()
	defer s.Close()
	s.Polls = 1000
	for _, tc := range []struct {
		name, path, body string
		want             int
	}{
		{"not JSON", "/v2/apps/a", `[`, 400},
		{"cmd and args", "/v2/apps/a", `{"cmd":"x","args":["y"]}`, 422},
		{"negative mem", "/v2/apps/a", `{"cmd":"x","mem":-1}`, 422},
		{"other id", "/v2/apps/a", `{"id":"/b","cmd":"x"}`, 422},
		{"create", "/v2/apps/a", `{"cmd":"x","instances":2}`, 201},
		{"while deploying", "/v2/apps/a", `{"instances":3}`, 409},
		{"forced", "/v2/apps/a?force=true", `{"instances":3}`, 200},
	} {
		if got := put(t, s, tc.path, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	a := s.App("/a")
	if a["cmd"] != "x" || a["instances"] != 3.0 || a["backoffFactor"] != 1.15 {
		t.Errorf("app: %v (a PUT keeps what it does not name; GET adds defaults)", a)
	}
	v1 := a["version"]
	put(t, s, "/v2/apps/a?force=true", `{"instances":3}`)
	if s.App("/a")["version"] == v1 {
		t.Error("an identical PUT kept the version; Marathon stamps a new one")
	}
}
