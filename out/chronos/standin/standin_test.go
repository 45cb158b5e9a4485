package standin

import (
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, path, body string) int {
	t.Helper()
	resp, err := http.Post(s.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRefusals(t *testing.T) {
	s := New()
	defer s.Close()
	for _, tc := range []struct {
		name, path, body string
		want             int
	}{
		{"not JSON", "/scheduler/iso8601", `{`, 400},
		{"cron schedule", "/scheduler/iso8601", `{"name":"a","command":"x","schedule":"0 2 * * *"}`, 400},
		{"no command", "/scheduler/iso8601", `{"name":"a","schedule":"R/2015-03-01T02:00:00Z/P1D"}`, 400},
		{"parents on iso8601", "/scheduler/iso8601", `{"name":"a","command":"x","schedule":"R/2015-03-01T02:00:00Z/P1D","parents":["b"]}`, 400},
		{"empty start is now, as Chronos reads it", "/scheduler/iso8601", `{"name":"a","command":"x","schedule":"R//P1D"}`, 204},
		{"a dot in the name", "/scheduler/iso8601", `{"name":"a.b","command":"x","schedule":"R/2015-03-01T02:00:00Z/P1D"}`, 400},
		{"dependent without parents", "/scheduler/dependency", `{"name":"b","command":"x"}`, 500},
		{"own parent", "/scheduler/dependency", `{"name":"b","command":"x","parents":["b"]}`, 500},
		{"unknown parent", "/scheduler/dependency", `{"name":"b","command":"x","parents":["z"]}`, 500},
		{"dependent; its schedule, unknown fields and a LIKE ignored", "/scheduler/dependency",
			`{"name":"b","command":"x","parents":["a"],"schedule":"R/2015-03-01T02:00:00Z/P1D","cron":"x","constraints":[["rack","LIKE","r.*"],["rack","EQUALS","r1"]]}`, 204},
	} {
		if got := post(t, s, tc.path, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if j := s.Job("a"); j == nil || !strings.HasSuffix(j["schedule"].(string), "/P1D") || strings.Contains(j["schedule"].(string), "R//") {
		t.Errorf("job a: %v", j)
	}
	if b := s.Job("b"); b == nil || b["schedule"] != nil || b["cron"] != nil || len(b["constraints"].([]any)) != 1 {
		t.Errorf("job b: %v", b)
	}
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/scheduler/job/a", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	w := s.Writes()
	if last := w[len(w)-1]; last.String() != "PUT /scheduler/job/a" || last.Status != 204 {
		t.Errorf("the run was not recorded: %v", last)
	}
}
