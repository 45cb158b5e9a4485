package haproxyjudge

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestServerHosts(t *testing.T) {
	cfg := "listen a\n  server a-2 b.example:80 check\n  server a-1 10.0.0.1:80 check\n" +
		"  server x [::1]:80\n  server y a.example:1 check\n  server z b.example:2\n  # server c c.example:1\n  bind 0.0.0.0:80\n"
	if got := ServerHosts([]byte(cfg)); !slices.Equal(got, []string{"a.example", "b.example"}) {
		t.Fatalf("ServerHosts = %v", got)
	}
}

const header = "global\n  daemon\n\ndefaults\n  timeout connect 5000\n  timeout client 50000\n  timeout server 50000\n\n"

// HAProxy 1.5.2, built from the judges' source, accepts a listen block
// whose server names the private /etc/hosts knows, refuses one it does
// not know, and refuses a keyword 1.5 lacks (init-addr, new in 1.7).
func TestCheck(t *testing.T) {
	bin := FromJudges(t)
	ctx := context.Background()
	dir := t.TempDir()
	name := "node-7.bundle-judge.invalid"
	for _, tc := range []struct {
		name, cfg string
		known     []string
		ok        bool
		says      string
	}{
		{"known host", "listen web\n  bind 127.0.0.1:8080\n  mode tcp\n  server web-1 " + name + ":31000 check\n", []string{name}, true, ""},
		{"unknown host", "listen web\n  bind 127.0.0.1:8080\n  mode tcp\n  server web-1 " + name + ":31000 check\n", nil, false, "invalid address"},
		{"init-addr", "listen web\n  bind 127.0.0.1:8080\n  mode tcp\n  server web-1 127.0.0.1:31000 check init-addr last,libc,none\n", nil, false, "init-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".cfg")
			if err := os.WriteFile(fp, []byte(header+tc.cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := Check(ctx, bin, fp, tc.known)
			if (err == nil) != tc.ok {
				t.Fatalf("ok = %v, want %v: %v\n%s", err == nil, tc.ok, err, out)
			}
			if !strings.Contains(string(out), tc.says) {
				t.Fatalf("output lacks %q:\n%s", tc.says, out)
			}
		})
	}
	// The private /etc/hosts does not leak to this machine.
	if b, _ := os.ReadFile("/etc/hosts"); strings.Contains(string(b), name) {
		t.Fatal("/etc/hosts of this machine changed")
	}
}

// A second Build of the same tarball is the cached binary.
func TestBuildCached(t *testing.T) {
	bin := FromJudges(t)
	again, err := Build(context.Background(), filepath.Join(os.Getenv(JudgesEnv), Tarball), "")
	if err != nil || again != bin {
		t.Fatalf("second build %q, %v; first %q", again, err, bin)
	}
}
