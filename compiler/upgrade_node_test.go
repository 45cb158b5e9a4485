package compiler

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

// masterStandIn serves what a Mesos master serves at GET
// /master/state.json (0.21/0.22 master/http.cpp: an object whose "version"
// is MESOS_VERSION), answering versions in turn (the last repeating), and
// 404 for any other path, as libprocess does.
type masterStandIn struct {
	mu       sync.Mutex
	versions []string
	requests int
}

func (m *masterStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/master/state.json" {
		http.NotFound(w, r)
		return
	}
	m.mu.Lock()
	v := m.versions[min(m.requests, len(m.versions)-1)]
	m.requests++
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"version": v, "activated_slaves": 1, "leader": "master@127.0.0.1:5050"})
}

type waitResult struct {
	Master  *string  `json:"master"`
	Error   *string  `json:"error"`
	Seconds float64  `json:"seconds"`
	Logs    []string `json:"logs"`
}

// The slave's wait for a master on the new Mesos version, run with Ruby
// against loopback masters: it returns at once when nothing changes
// version, waits until a master answers with the new version, and fails
// after its bound naming every master and what it answered.
func TestSlaveWaitsForMaster(t *testing.T) {
	ruby := needTool(t, "ruby", "ruby")
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "upgrade_wait.rb")
	cookbook := filepath.Join(testutil.ModuleRoot(t), "compiler", "templates", "cookbook")
	for _, tc := range []struct {
		name, installed string
		versions        []string
		wait            string
		masters         []string // "up" is the stand-in, "down" a loopback address nothing listens on
		wantMaster      bool
		wantRequests    int // -1: at least 1
		wantErr         []string
	}{
		{"same version", "0.22.0", []string{"0.22.0"}, "5", []string{"up"}, false, 0, nil},
		{"first install", "-", []string{"0.21.0"}, "5", []string{"up"}, false, 0, nil},
		{"master already upgraded", "0.21.0", []string{"0.22.0"}, "5", []string{"down", "up"}, true, 1, nil},
		{"master upgrades meanwhile", "0.21.0", []string{"0.21.0", "0.21.0", "0.22.0"}, "5", []string{"up"}, true, 3, nil},
		{"downgrade waits too", "0.23.0", []string{"0.23.0", "0.22.0"}, "5", []string{"up"}, true, 2, nil},
		{"never", "0.21.0", []string{"0.21.0"}, "0.5", []string{"down", "up"}, false, -1, []string{
			"moves from Mesos 0.21.0 to 0.22.0", "no master answered GET /master/state.json with version 0.22.0 within 0.5 s",
			"127.0.0.2:PORT (", "127.0.0.1:PORT (version 0.21.0)"}},
		{"no master", "0.21.0", []string{"0.21.0"}, "5", nil, false, 0, []string{"its cluster has no master"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &masterStandIn{versions: tc.versions}
			srv := httptest.NewServer(m)
			defer srv.Close()
			_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			args := []string{script, cookbook, port, "0.22.0", tc.installed, tc.wait, "0.05"}
			for _, h := range tc.masters {
				args = append(args, map[string]string{"up": "127.0.0.1", "down": "127.0.0.2"}[h])
			}
			out, err := exec.Command(ruby, args...).Output()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var r waitResult
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got := r.Master != nil && *r.Master == "127.0.0.1"; got != tc.wantMaster {
				t.Errorf("answered by %v, want the stand-in: %v (%s)", r.Master, tc.wantMaster, out)
			}
			if tc.wantRequests >= 0 && m.requests != tc.wantRequests || tc.wantRequests < 0 && m.requests < 2 {
				t.Errorf("the master was asked %d times, want %d", m.requests, tc.wantRequests)
			}
			if r.Seconds > 3 {
				t.Errorf("the wait took %.1f s", r.Seconds)
			}
			if len(tc.wantErr) == 0 && r.Error != nil {
				t.Errorf("unexpected error: %s", *r.Error)
			}
			for _, w := range tc.wantErr {
				w = strings.ReplaceAll(w, "PORT", port)
				if r.Error == nil || !strings.Contains(*r.Error, w) {
					t.Errorf("the error %v does not say %q", r.Error, w)
				}
			}
			if tc.wantErr != nil && tc.masters != nil {
				if r.Seconds < 0.4 {
					t.Errorf("gave up after %.2f s, before its bound", r.Seconds)
				}
				if len(r.Logs) == 0 {
					t.Error("nothing logged while waiting")
				}
			}
		})
	}
}
