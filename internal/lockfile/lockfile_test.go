package lockfile

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"

	"github.com/bdebundle/bundle/hcl/sitedef"

	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestLockRoundTrip(t *testing.T) {
	locks := []Entry{
		{Name: "nginx", Ref: "nginx:1.7.9", Digest: "sha256:" + strings.Repeat("e", 64), Platforms: []string{"linux/amd64"}},
		{Name: "app", Ref: "registry.example:5000/team/app@sha256:" + strings.Repeat("a", 64), Digest: "sha256:" + strings.Repeat("a", 64)},
		{Name: "multi", Ref: "docker-archive:images/multi.tar", Digest: "sha256:" + strings.Repeat("b", 64), Platforms: []string{"linux/amd64", "linux/arm64/v8"}},
	}
	path := filepath.Join(t.TempDir(), sitedef.LockFile)
	if err := Write(path, locks); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "bundle.lock.hcl")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("lock file differs from %s:\n%s", golden, got)
	}

	read, diags := Read(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(read) != len(locks) {
		t.Fatalf("read %d entries, want %d", len(read), len(locks))
	}
	for _, l := range locks {
		r := read[l.Name]
		if r.Range.Filename != path || r.Range.Start.Line == 0 {
			t.Errorf("%s: range %v", l.Name, r.Range)
		}
		r.Range = hcl.Range{}
		if !reflect.DeepEqual(r, l) {
			t.Errorf("%s: read %+v, want %+v", l.Name, r, l)
		}
	}

	// Writing again keeps other blocks and gives the same image entries.
	other := "repo \"mesos\" {\n  digest = \"x\"\n}\n"
	if err := os.WriteFile(path, append([]byte(other), got...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, locks[:1]); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(path)
	if !strings.Contains(string(again), `repo "mesos"`) || strings.Contains(string(again), `image "app"`) || !strings.Contains(string(again), `image "nginx"`) {
		t.Errorf("rewrite lost or kept the wrong blocks:\n%s", again)
	}
	if es, _ := os.ReadDir(filepath.Dir(path)); len(es) != 1 {
		t.Errorf("temporary files left: %v", es)
	}

	if m, diags := Read(filepath.Join(t.TempDir(), "none.hcl")); diags.HasErrors() || len(m) != 0 {
		t.Errorf("missing lock file: %v %v", m, diags)
	}
	if err := Write(path, append(locks, locks[0])); err == nil {
		t.Error("duplicate names written")
	}
}

func TestReadLockErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"syntax", "image \"a\" {\n  ref = \n}\n", []string{":2,"}},
		{"bad digest", "image \"a\" {\n  ref = \"nginx:1\"\n  digest = \"md5:abc\"\n}\n", []string{":3,", "Invalid image digest", "md5:abc"}},
		{"missing digest", "image \"a\" {\n  ref = \"nginx:1\"\n}\n", []string{"digest", "required"}},
		{"unknown attr", "image \"a\" {\n  ref = \"nginx:1\"\n  digest = \"sha256:" + strings.Repeat("a", 64) + "\"\n  colour = 1\n}\n", []string{":4,", "colour"}},
		{"duplicate", "image \"a\" {\n  ref = \"n:1\"\n  digest = \"sha256:" + strings.Repeat("a", 64) + "\"\n}\nimage \"a\" {\n  ref = \"n:1\"\n  digest = \"sha256:" + strings.Repeat("a", 64) + "\"\n}\n", []string{":5,", "Duplicate"}},
		{"bad platform", "image \"a\" {\n  ref = \"n:1\"\n  digest = \"sha256:" + strings.Repeat("a", 64) + "\"\n  platforms = [\"amd64\"]\n}\n", []string{"Invalid platform"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), sitedef.LockFile)
			if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := Read(path)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			msg := diags.Error()
			for _, w := range append(tt.want, sitedef.LockFile) {
				if !strings.Contains(msg, w) {
					t.Errorf("diagnostics %q lack %q", msg, w)
				}
			}
		})
	}
}

// TestReadLockNotAFile: a lock file that is a FIFO or too large is an
// error naming it, at once, not a hang or an unbounded read.
func TestReadLockNotAFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, p string)
		want string
	}{
		{"fifo", func(t *testing.T, p string) { testutil.Mkfifo(t, p) }, "not a regular file"},
		{"17 MiB", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte(strings.Repeat("#", 17<<20)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "file too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), sitedef.LockFile)
			tc.make(t, p)
			_, diags := Read(p)
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
				t.Fatalf("ReadLock: %v", diags)
			}
			if err := Write(p, []Entry{{Name: "a", Ref: "n:1", Digest: "sha256:" + strings.Repeat("a", 64)}}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("WriteLock: %v", err)
			}
		})
	}
}
