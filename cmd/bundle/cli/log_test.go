package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerboseShowsLibraryLogs: -v shows the debug records libraries log
// through slog (here pipeline's, when the scan cache cannot be opened
// because the cache directory is a file); without -v they are not shown.
func TestVerboseShowsLibraryLogs(t *testing.T) {
	dir := t.TempDir()
	writeExample(t, dir)
	if code, stdout, stderr := run(t, "lock", dir, "-q"); code != 0 {
		t.Fatalf("lock: exit %d\n%s%s", code, stdout, stderr)
	}
	notADir := filepath.Join(t.TempDir(), "cache")
	if err := os.WriteFile(notADir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		flag []string
		want bool
	}{
		{"verbose", []string{"-v"}, true},
		{"default", nil, false},
		{"quiet", []string{"-q"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"build", dir, "--plan", "--offline", "--cache-dir", notADir}, tt.flag...)
			code, stdout, stderr := run(t, args...)
			if code != 0 {
				t.Fatalf("build --plan: exit %d\n%s%s", code, stdout, stderr)
			}
			if got := strings.Contains(stderr, "scan cache disabled"); got != tt.want {
				t.Errorf("stderr shows the library's debug record: %v, want %v\n%s", got, tt.want, stderr)
			}
		})
	}
}

// TestSharedCacheDirWarns: a cache directory others can write is not used,
// and a warning says so without -v.
func TestSharedCacheDirWarns(t *testing.T) {
	dir := t.TempDir()
	writeExample(t, dir)
	if code, stdout, stderr := run(t, "lock", dir, "-q"); code != 0 {
		t.Fatalf("lock: exit %d\n%s%s", code, stdout, stderr)
	}
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "build", dir, "--plan", "--offline", "--cache-dir", shared)
	if code != 0 {
		t.Fatalf("build --plan: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "scan cache not used") || !strings.Contains(stderr, "writable by group or others") {
		t.Errorf("no warning about the shared cache directory:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(shared, "key")); err == nil {
		t.Error("a key was written into the shared directory")
	}
}
