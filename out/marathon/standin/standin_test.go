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
		{"negative instances", "/v2/apps/a", `{"cmd":"x","instances":-1}`, 400},
		{"container type", "/v2/apps/a", `{"cmd":"x","container":{"type":"RKT"}}`, 400},
		{"operator 0.8 lacks", "/v2/apps/a", `{"cmd":"x","constraints":[["rack","MAX_PER","2"]]}`, 422},
		{"invalid id", "/v2/apps/A_1", `{"cmd":"x"}`, 422},
		// Marathon 0.8.0 checks neither resources, nor cmd against args,
		// nor whether a dependency exists; it reads the body's id first
		// and ignores fields AppUpdate does not have.
		{"the body's id wins", "/v2/apps/a", `{"id":"/b","cmd":"x","args":["y"],"mem":-1,"dependencies":["/none"],"maxPer":2}`, 201},
		{"create", "/v2/apps/a", `{"cmd":"x","instances":2}`, 201},
		{"while deploying", "/v2/apps/a", `{"instances":3}`, 409},
		{"forced", "/v2/apps/a?force=true", `{"instances":3}`, 200},
	} {
		if got := put(t, s, tc.path, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if b := s.App("/b"); b == nil || b["mem"] != -1.0 || b["maxPer"] != nil || b["args"] == nil {
		t.Errorf("app /b: %v", b)
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
