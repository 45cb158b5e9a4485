//go:build unix

package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/testutil"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bundle-signal-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "bundle")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hangingServer accepts connections and never answers; accepted is
// signalled at the first one.
func hangingServer(t *testing.T) (addr string, accepted chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = make(chan struct{}, 1)
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), accepted
}

func writeSite(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	src := []byte(testutil.PlainSite(t))
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), append(src, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := demoinputs.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSignalsStopCommands: each long-running command, blocked on a peer
// that never answers, stops within a second of SIGINT or SIGTERM with exit
// code 3, and a build leaves no staging directory behind.
func TestSignalsStopCommands(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	addr, accepted := hangingServer(t)
	plain := writeSite(t, "\nimage \"nginx\" {\n  ref      = \"docker-archive:images/nginx-1.7.9.tar\"\n  platform = \"linux/amd64\"\n}\n")
	dist := filepath.Join(t.TempDir(), "dist")
	if out, err := exec.Command(binary, "build", plain, "-o", dist, "-q", "--no-archive").CombinedOutput(); err != nil {
		t.Fatalf("building the bundle to deploy: %v\n%s", err, out)
	}
	bundleDir := filepath.Join(dist, "mesos-site-2015.03.1")
	withImage := writeSite(t, "\nimage \"remote\" {\n  ref = \""+addr+"/library/x:1\"\n}\n")
	cases := []struct {
		name string
		args []string
		env  []string
		out  string // directory that must hold no staging leftovers
	}{
		{name: "build pulling an image", args: []string{"build", withImage, "-o", filepath.Join(t.TempDir(), "d"), "-q", "--insecure-registry", addr}},
		{name: "lock", args: []string{"lock", withImage, "--insecure-registry", addr}},
		{name: "deploy", args: []string{"deploy", bundleDir, "--target", "site"}, env: []string{"GOVC_URL=http://" + addr + "/sdk", "GOVC_USERNAME=u", "GOVC_PASSWORD=p", "GOVC_INSECURE=1"}},
		{name: "images push", args: []string{"images", "push", bundleDir, "--registry", addr, "--insecure-registry", addr}},
	}
	for _, tc := range cases {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				cmd := exec.Command(binary, tc.args...)
				cmd.Env = append(os.Environ(), tc.env...)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case <-accepted:
				case err := <-done:
					t.Fatalf("the command ended before reaching the peer (%v): %s", err, stderr.String())
				case <-time.After(20 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("the command never reached the peer: %s", stderr.String())
				}
				time.Sleep(100 * time.Millisecond)
				start := time.Now()
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-done:
					took := time.Since(start)
					var ee *exec.ExitError
					if !errors.As(err, &ee) || ee.ExitCode() != 3 {
						t.Errorf("exit: %v, want code 3; stderr:\n%s", err, stderr.String())
					}
					if took > 1500*time.Millisecond {
						t.Errorf("took %v to stop", took)
					}
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("%v ignored; stderr:\n%s", sig, stderr.String())
				}
			})
		}
	}
}
