package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/demoinputs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/testutil"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/inspect"
	"github.com/bdebundle/bundle/out/verify"
)

// site writes the out package's test site with its stand-in RPMs.
func site(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := []byte(testutil.PlainSite(t))
	if err := os.WriteFile(filepath.Join(dir, "site.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := demoinputs.Write(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBuildVerifyInspectDiff(t *testing.T) {
	t.Setenv("BUNDLE_CACHE_DIR", t.TempDir())
	src := site(t)
	dist := filepath.Join(t.TempDir(), "dist")
	code, stdout, stderr := run(t, "build", src, "-o", dist, "--json", "-q")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	var res builder.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("build --json: %v\n%s", err, stdout)
	}
	if res.Packages != 12 || res.Archive != filepath.Join(dist, "mesos-site-2015.03.1.tar.zst") {
		t.Fatalf("result: %+v", res)
	}
	for _, p := range []string{res.Dir, res.Archive} {
		if code, stdout, stderr := run(t, "verify", p); code != 0 || !strings.Contains(stdout, "OK mesos-site-2015.03.1") {
			t.Fatalf("verify %s: exit %d\n%s%s", p, code, stdout, stderr)
		}
	}
	code, stdout, _ = run(t, "inspect", res.Archive, "--json")
	var in inspect.Inspection
	if err := json.Unmarshal([]byte(stdout), &in); err != nil || code != 0 || len(in.Manifest.Repos) != 2 {
		t.Fatalf("inspect --json: %d %v %+v", code, err, in)
	}
	code, stdout, _ = run(t, "inspect", res.Dir)
	if code != 0 || !strings.Contains(stdout, "mesos-0.22.0-1.0.centos65.x86_64") || !strings.Contains(stdout, "cluster mesos01") {
		t.Fatalf("inspect: %d\n%s", code, stdout)
	}
	// The target line names everything a deploy goes to.
	if !regexp.MustCompile(`(?m)^target site +datacenter DC1 +datastore vsanDatastore +folder bde/templates +library bundles +registry -$`).MatchString(stdout) {
		t.Errorf("inspect's target line is not complete:\n%s", stdout)
	}
	// A tar.gz of the same definition, then damage the directory.
	dist2 := filepath.Join(t.TempDir(), "dist")
	if code, _, stderr := run(t, "build", src, "-o", dist2, "--format", "tar.gz", "--no-hardlinks", "-q"); code != 0 {
		t.Fatalf("build tar.gz: %d %s", code, stderr)
	}
	if code, stdout, _ := run(t, "diff", res.Archive, filepath.Join(dist2, "mesos-site-2015.03.1.tar.gz")); code != 0 || !strings.Contains(stdout, "No changes") {
		t.Fatalf("diff of equal bundles: %d\n%s", code, stdout)
	}
	rack := filepath.Join(dist2, "mesos-site-2015.03.1", "serengeti/www/yum/repos/mesos/0.22.0/haproxy-1.5.2-2.el6.x86_64.rpm")
	if err := os.WriteFile(rack, []byte("not an rpm"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = run(t, "verify", filepath.Join(dist2, "mesos-site-2015.03.1"), "--json")
	var rep verify.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != ExitUser || len(rep.Problems) == 0 {
		t.Fatalf("verify of a damaged bundle: exit %d %v %+v", code, err, rep)
	}
	var named, deep bool
	for _, p := range rep.Problems {
		named = named || strings.HasSuffix(p.Path, "haproxy-1.5.2-2.el6.x86_64.rpm")
		deep = deep || strings.Contains(p.Problem, "repodata")
	}
	if !named || !deep {
		t.Fatalf("verify should name the damaged RPM and find its repodata out of date: %+v", rep.Problems)
	}
	if code, _, _ := run(t, "build", src, "-o", dist2, "--format", "zip"); code != ExitUsage {
		t.Fatalf("bad --format: exit %d", code)
	}
	if code, _, _ := run(t, "verify", filepath.Join(t.TempDir(), "missing")); code != ExitUser {
		t.Fatalf("verify of a missing path: exit %d", code)
	}
}

func TestProgressReporters(t *testing.T) {
	var buf bytes.Buffer
	g := &Globals{Streams: Streams{Err: &buf}, JSON: true}
	r := newReporter(g)
	task := r.Start("hashing", 10)
	task.Add(10)
	task.Done(nil)
	r.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var ev progressEvent
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &ev) != nil || ev.Event != "done" || ev.Bytes != 10 {
		t.Fatalf("json progress: %q", buf.String())
	}
	buf.Reset()
	g.JSON = false
	r = newReporter(g)
	task = r.Start("copying", 2048)
	task.Add(2048)
	task.Done(nil)
	if !strings.Contains(buf.String(), "copying: done, 2.0 KiB") {
		t.Fatalf("line progress: %q", buf.String())
	}
	buf.Reset()
	g.Quiet = true
	r = newReporter(g)
	r.Start("x", 1).Done(nil)
	if buf.Len() != 0 {
		t.Fatalf("-q printed %q", buf.String())
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a reporter writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLineProgressWhileRunning: a long task prints where it is (items
// done, input done of the total, rate) until it ends, and every size says
// what it is.
func TestLineProgressWhileRunning(t *testing.T) {
	tests := []struct {
		name         string
		total, bytes int64
		items        int64
		start, tick  string
		done         string
	}{
		{"scanning 4 RPMs", 4096, 2048, 2, "scanning 4 RPMs (4.0 KiB of input)...",
			"scanning 4 RPMs: 2 done (", "scanning 4 RPMs: done, 2.0 KiB of input in "},
		{"hashing", 1 << 20, 1 << 19, 0, "hashing (1.0 MiB of input)...",
			"hashing: 512.0 KiB of 1.0 MiB input (50%), ", "hashing: done, 512.0 KiB of input in "},
		{"deep check: repodata of 2 repos", -1, 0, 0, "deep check: repodata of 2 repos...",
			"deep check: repodata of 2 repos: 0 B of input so far", "deep check: repodata of 2 repos: done in "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf lockedBuffer
			r := &lineReporter{w: &buf, every: 10 * time.Millisecond}
			task := r.Start(tt.name, tt.total)
			task.Add(tt.bytes)
			progress.AddItems(task, tt.items)
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(buf.String(), tt.tick) {
				if time.Now().After(deadline) {
					t.Fatalf("no progress line %q in %q", tt.tick, buf.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			task.Done(nil)
			out := buf.String()
			if !strings.HasPrefix(out, tt.start+"\n") {
				t.Errorf("start line: %q, want %q", out, tt.start)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tt.done) {
				t.Errorf("last line %q, want it to start %q", last, tt.done)
			}
			time.Sleep(30 * time.Millisecond)
			if after := buf.String(); after != out {
				t.Errorf("printed after Done: %q", after[len(out):])
			}
		})
	}
}
