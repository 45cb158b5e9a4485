package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/repo"
)

// jsonLines parses every line of s as a JSON object; a line that is not
// one fails the test.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON (%v): %q\n%s", i+1, err, line, s)
		}
		recs = append(recs, m)
	}
	return recs
}

// debugRecords returns the -v records (slog's JSON handler) with message
// msg.
func debugRecords(recs []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["level"] == "DEBUG" && r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// buildVerboseJSON runs build -v --json of src into a new directory and returns
// the stderr stream, every line parsed.
func buildVerboseJSON(t *testing.T, src, cache string, extra ...string) []map[string]any {
	t.Helper()
	args := append([]string{"build", src, "-o", filepath.Join(t.TempDir(), "dist"), "--no-archive", "--cache-dir", cache, "-v", "--json"}, extra...)
	code, stdout, stderr := run(t, args...)
	if code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	return jsonLines(t, stderr)
}

// TestVerboseCacheDecisions: -v logs each hash and scan cache lookup with
// the reason; a first build misses, a second one hits for every input.
func TestVerboseCacheDecisions(t *testing.T) {
	old := repo.DefaultScanCacheMinSize
	repo.DefaultScanCacheMinSize = 0 // the stand-in RPMs are small
	t.Cleanup(func() { repo.DefaultScanCacheMinSize = old })
	src := site(t)
	cache := t.TempDir()
	first := buildVerboseJSON(t, src, cache)
	second := buildVerboseJSON(t, src, cache)
	tests := []struct {
		name string
		recs []map[string]any
		msg  string
		want string // in the reason
	}{
		{"first build, hash cache", first, "hash cache miss", "no entry"},
		{"first build, scan cache", first, "scan cache miss", "no entry"},
		{"second build, hash cache", second, "hash cache hit", "unchanged"},
		{"second build, scan cache", second, "scan cache hit", "unchanged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := debugRecords(tt.recs, tt.msg)
			if len(got) < 12 { // the site's 12 RPMs at least
				t.Fatalf("%d %q records, want one per input (12 RPMs at least)", len(got), tt.msg)
			}
			for _, r := range got {
				path, _ := r["path"].(string)
				reason, _ := r["reason"].(string)
				if path == "" || !strings.Contains(reason, tt.want) {
					t.Errorf("record %v: want a path and a reason with %q", r, tt.want)
				}
			}
		})
	}
	if n := len(debugRecords(second, "hash cache miss")); n != 0 {
		t.Errorf("second build: %d hash cache misses, want none", n)
	}

	// --no-cache: each cache says once that it is off, and why.
	off := buildVerboseJSON(t, src, cache, "--no-cache")
	for _, msg := range []string{"hash cache disabled", "scan cache disabled"} {
		got := debugRecords(off, msg)
		if len(got) == 0 || !strings.Contains(fmt.Sprint(got[0]["reason"]), "--no-cache") {
			t.Errorf("--no-cache: %q records %v, want one giving --no-cache as the reason", msg, got)
		}
	}
	for _, msg := range []string{"hash cache hit", "hash cache miss", "scan cache hit", "scan cache miss"} {
		if n := len(debugRecords(off, msg)); n != 0 {
			t.Errorf("--no-cache: %d %q records", n, msg)
		}
	}
}

// TestVerbosePlacement: -v says how each input reached the bundle and why:
// hard-linked by default, copied or reflinked with --no-hardlinks, never
// linked then.
func TestVerbosePlacement(t *testing.T) {
	src := site(t)
	tests := []struct {
		name   string
		flags  []string
		msgs   []string // one of these for every input
		reason string
	}{
		{"default", nil, []string{"input linked"}, "hard link"},
		{"no-hardlinks", []string{"--no-hardlinks"}, []string{"input copied", "input reflinked"}, "--no-hardlinks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := buildVerboseJSON(t, src, t.TempDir(), tt.flags...)
			var got []map[string]any
			for _, m := range tt.msgs {
				got = append(got, debugRecords(recs, m)...)
			}
			if len(got) < 12 {
				t.Fatalf("%d %v records, want one per input (12 RPMs at least)", len(got), tt.msgs)
			}
			for _, r := range got {
				if reason, _ := r["reason"].(string); r["path"] == nil || !strings.Contains(reason, tt.reason) {
					t.Errorf("record %v: want a path and a reason with %q", r, tt.reason)
				}
			}
			if tt.name != "default" && len(debugRecords(recs, "input linked")) != 0 {
				t.Error("--no-hardlinks: an input was linked")
			}
		})
	}
}

// TestBuildJSONEvents: build --json streams NDJSON events on stderr: the
// build's start first, every step's start before its done, and the
// build's outcome last (with the result stdout still prints as one
// object); a definition with errors streams them as "error" events.
func TestBuildJSONEvents(t *testing.T) {
	src := site(t)
	dist := filepath.Join(t.TempDir(), "dist")
	code, stdout, stderr := run(t, "build", src, "-o", dist, "--json", "--cache-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	var res builder.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Packages != 12 {
		t.Fatalf("stdout is not the one result object: %v\n%s", err, stdout)
	}
	evs := jsonLines(t, stderr)
	known := map[string]bool{"start": true, "progress": true, "done": true, "warning": true, "error": true}
	open := map[string]int{}
	for i, e := range evs {
		ev, _ := e["event"].(string)
		step, _ := e["step"].(string)
		if !known[ev] || step == "" {
			t.Fatalf("event %d: %v: want a known event with a step", i, e)
		}
		switch ev {
		case "start":
			open[step]++
		case "progress", "done":
			if open[step] == 0 {
				t.Fatalf("event %d: %s of step %q, which has not started", i, ev, step)
			}
			if ev == "done" {
				open[step]--
			}
		case "error":
			t.Fatalf("event %d: error in a build that succeeded: %v", i, e)
		}
	}
	for step, n := range open {
		if n != 0 {
			t.Errorf("step %q started %d more times than it was done", step, n)
		}
	}
	if first := evs[0]; first["event"] != "start" || first["step"] != "build" {
		t.Errorf("first event %v, want the build's start", first)
	}
	last := evs[len(evs)-1]
	result, _ := last["result"].(map[string]any)
	if last["event"] != "done" || last["step"] != "build" || result == nil || result["archive_sha256"] != res.ArchiveSHA256 {
		t.Errorf("last event %v, want the build's done with the result (archive sha256 %s)", last, res.ArchiveSHA256)
	}
	if len(evs) < 4 {
		t.Errorf("%d events, want the steps between start and done", len(evs))
	}

	// A definition with an error: "error" events, the build's last.
	bad := writeSite(t, baseSite+"\nbogus_block {}\n")
	code, stdout, stderr = run(t, "build", bad, "-o", dist, "--json")
	if code != ExitUser {
		t.Fatalf("bad definition: exit %d, want %d\n%s%s", code, ExitUser, stdout, stderr)
	}
	evs = jsonLines(t, stderr)
	var diag bool
	for _, e := range evs {
		if e["event"] == "error" && e["step"] == "compile" && e["diagnostic"] != nil && e["message"] != "" {
			diag = true
		}
	}
	if !diag {
		t.Errorf("no error event with the diagnostic:\n%s", stderr)
	}
	if last := evs[len(evs)-1]; last["event"] != "error" || last["step"] != "build" {
		t.Errorf("last event %v, want the build's error", last)
	}
}

// TestJSONProgressEvents: a running step reports "progress" events with
// its counts, and none after its "done".
func TestJSONProgressEvents(t *testing.T) {
	var buf lockedBuffer
	r := &jsonReporter{w: &buf, every: 5 * time.Millisecond}
	task := r.Start("hashing", 100)
	task.Add(40)
	task.(progress.ItemTask).AddItems(3)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), `"event":"progress"`) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	task.Done(nil)
	time.Sleep(20 * time.Millisecond) // a tick after Done writes nothing
	evs := jsonLines(t, buf.String())
	if evs[0]["event"] != "start" || evs[len(evs)-1]["event"] != "done" || len(evs) < 3 {
		t.Fatalf("events %v: want start, progress…, done", evs)
	}
	for _, e := range evs[1 : len(evs)-1] {
		if e["event"] != "progress" || e["step"] != "hashing" || e["bytes"] != float64(40) || e["items"] != float64(3) || e["total"] != float64(100) {
			t.Errorf("event %v: want hashing's progress at 40 of 100 bytes, 3 items", e)
		}
	}
}

// TestBuildJSONLogWarning: with --json a warning logged during the build
// (a cache directory others can write) is a "warning" event in the
// stream, every line of which stays JSON.
func TestBuildJSONLogWarning(t *testing.T) {
	src := site(t)
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "build", src, "-o", filepath.Join(t.TempDir(), "dist"), "--no-archive", "--json", "--cache-dir", shared)
	if code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, stdout, stderr)
	}
	var warned bool
	for _, e := range jsonLines(t, stderr) {
		if e["event"] == "warning" && e["step"] == "build" && strings.Contains(fmt.Sprint(e["message"]), "cache not used") && strings.Contains(fmt.Sprint(e["err"]), "writable by group or others") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning event about the shared cache directory:\n%s", stderr)
	}
}
