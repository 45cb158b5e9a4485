//go:build unix

package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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

// stallingProxy forwards to the registry at upstream but never answers a
// blob download: a build then stops in the middle of writing its bundle
// (the manifests resolve while compiling; the blobs are fetched while
// mirroring into the staging directory). stalled is signalled at the first
// held request.
func stallingProxy(t *testing.T, upstream string) (addr string, stalled chan struct{}) {
	t.Helper()
	target, err := url.Parse("http://" + upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	stalled = make(chan struct{}, 1)
	stop := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			select {
			case stalled <- struct{}{}:
			default:
			}
			select {
			case <-stop:
			case <-r.Context().Done():
			}
			return
		}
		rp.ServeHTTP(w, r)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return l.Addr().String(), stalled
}

// tree records every entry under root: its path, mode and, for a file, a
// digest of its content. Comparing two records shows anything added,
// removed or changed.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[rel] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// treeDiff says how after differs from before ("" when it does not).
func treeDiff(before, after map[string]string) string {
	var d []string
	for p, v := range after {
		if w, ok := before[p]; !ok {
			d = append(d, "added "+p)
		} else if w != v {
			d = append(d, "changed "+p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			d = append(d, "removed "+p)
		}
	}
	sort.Strings(d)
	return strings.Join(d, ", ")
}

// leftovers lists the entries under root named like the temporary files
// and directories the commands make (staging, partial blobs, extraction,
// atomic-write temporaries).
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		n := e.Name()
		for _, mark := range []string{".staging-", ".tmp-", ".partial-", ".repodata-", ".bundle-extract-", "bundle-deploy-", "bundle-guest-"} {
			if strings.Contains(n, mark) {
				out = append(out, p)
			}
		}
		return nil
	})
	return out
}

// TestSignalsStopCommands: each long-running command, blocked on a peer
// that never answers, stops within a second of SIGINT or SIGTERM with exit
// code 3 and cleans up: no staging or temporary file or directory is left
// in the output's directory, the cache, the deploy work dir or TMPDIR, and
// what was there before (the previous bundle and archive, the lock file,
// the bundle being deployed or pushed) is untouched. The build is stopped
// while it writes its staging directory (its image blobs never arrive).
func TestSignalsStopCommands(t *testing.T) {
	addr, accepted := hangingServer(t)
	plain := writeSite(t, "\nimage \"nginx\" {\n  ref      = \"docker-archive:images/nginx-1.7.9.tar\"\n  platform = \"linux/amd64\"\n}\n")
	dist := filepath.Join(t.TempDir(), "dist")
	if out, err := exec.Command(binary, "build", plain, "-o", dist, "-q").CombinedOutput(); err != nil {
		t.Fatalf("building the bundle to deploy: %v\n%s", err, out)
	}
	bundleDir := filepath.Join(dist, "mesos-site-2015.03.1")
	archive := bundleDir + ".tar.zst"

	// The build pulls an image from a registry through a proxy that holds
	// every blob download: it stops while mirroring into its staging
	// directory, beside a previous bundle of the same name.
	registry := testutil.DockerRegistry(t, "")
	skopeo := testutil.RequireTool(t, "skopeo", "skopeo")
	if out, err := exec.Command(skopeo, "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
		"docker-archive:"+filepath.Join(plain, "images", "nginx-1.7.9.tar"), "docker://"+registry+"/library/x:1").CombinedOutput(); err != nil {
		t.Fatalf("pushing the test image: %v\n%s", err, out)
	}
	proxy, stalled := stallingProxy(t, registry)
	pulling := writeSite(t, "\nimage \"remote\" {\n  ref = \""+proxy+"/library/x:1\"\n}\n")
	prevOut := filepath.Join(t.TempDir(), "d")
	if out, err := exec.Command(binary, "build", plain, "-o", prevOut, "-q").CombinedOutput(); err != nil {
		t.Fatalf("building the previous bundle: %v\n%s", err, out)
	}
	locking := writeSite(t, "\nimage \"remote\" {\n  ref = \""+addr+"/library/x:1\"\n}\n")
	if err := os.WriteFile(filepath.Join(locking, "bundle.lock.hcl"), []byte("# the previous lock file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	govc := []string{"GOVC_URL=http://" + addr + "/sdk", "GOVC_USERNAME=u", "GOVC_PASSWORD=p", "GOVC_INSECURE=1"}
	workDir := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		env   []string
		wait  chan struct{} // signalled when the command is blocked (default: the hanging server's first connection)
		same  []string      // trees that must be untouched (each must exist)
		clean []string      // trees that must be unchanged and hold no temporary entries
		// staged must hold a temporary entry while the command is blocked
		// (so that its removal is what the test sees).
		staged string
	}{
		{name: "build", args: []string{"build", pulling, "-o", prevOut, "-q", "--insecure-registry", proxy}, wait: stalled, clean: []string{prevOut}, staged: prevOut},
		{name: "lock", args: []string{"lock", locking, "--insecure-registry", addr}, clean: []string{locking}},
		{name: "deploy", args: []string{"deploy", bundleDir, "--target", "site"}, env: govc, same: []string{dist}},
		{name: "deploy from the archive", args: []string{"deploy", archive, "--target", "site", "--work-dir", workDir}, env: govc, same: []string{dist}, clean: []string{workDir}, staged: workDir},
		{name: "images push", args: []string{"images", "push", bundleDir, "--registry", addr, "--insecure-registry", addr}, same: []string{dist}},
		{name: "images push from the archive", args: []string{"images", "push", archive, "--registry", addr, "--insecure-registry", addr}, same: []string{dist}},
	}
	for _, tc := range cases {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				tmp, cache := t.TempDir(), t.TempDir()
				watched := append([]string{tmp}, tc.clean...)
				watched = append(watched, tc.same...)
				before := map[string]map[string]string{}
				for _, d := range watched {
					before[d] = tree(t, d)
				}
				for _, d := range tc.same {
					if len(before[d]) < 2 {
						t.Fatalf("%s holds nothing to keep", d)
					}
				}
				wait := tc.wait
				if wait == nil {
					wait = accepted
				}
				select { // a signal left by an earlier case
				case <-wait:
				default:
				}
				cmd := exec.Command(binary, tc.args...)
				cmd.Env = append(os.Environ(), append([]string{"TMPDIR=" + tmp, "BUNDLE_CACHE_DIR=" + cache}, tc.env...)...)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case <-wait:
				case err := <-done:
					t.Fatalf("the command ended before reaching the peer (%v): %s", err, stderr.String())
				case <-time.After(20 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("the command never reached the peer: %s", stderr.String())
				}
				time.Sleep(100 * time.Millisecond)
				if tc.staged != "" && len(leftovers(t, tc.staged)) == 0 {
					t.Errorf("the command was not stopped in the middle: nothing staged in %s", tc.staged)
				}
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
				for _, d := range watched {
					if diff := treeDiff(before[d], tree(t, d)); diff != "" {
						t.Errorf("%s changed: %s", d, diff)
					}
				}
				if l := leftovers(t, cache); len(l) > 0 {
					t.Errorf("left in the cache: %v", l)
				}
			})
		}
	}
}
