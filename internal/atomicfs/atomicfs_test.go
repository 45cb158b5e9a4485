package atomicfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree returns the names and contents of the files directly in dir.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

func mkdir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteFile(t *testing.T) {
	strictUmask(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	for _, content := range []string{"first\n", "second, longer\n", ""} {
		if err := WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			t.Fatalf("read %q, %v; want %q", b, err, content)
		}
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("mode %v, want 0644 whatever the umask", fi.Mode().Perm())
		}
	}
	if n := names(t, dir); !slices.Equal(n, []string{"f.txt"}) {
		t.Errorf("directory holds %q, want only f.txt", n)
	}
}

func TestWriteFailureLeavesOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error {
		_, _ = io.WriteString(w, "partial new content")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want the fill error", err)
	}
	if got := tree(t, dir); len(got) != 1 || got["f"] != "old" {
		t.Errorf("after a failed write the directory holds %v, want only the old f", got)
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "f")
	err := WriteFile(p, nil, 0o644)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteFile into a missing directory = %v, want ErrNotExist", err)
	}
}

// exchangers are the native exchange and the rename-aside fallback, so the
// fallback is tested on every system.
var exchangers = []struct {
	name string
	fn   func(src, dst string) error
}{
	{"Exchange", Exchange},
	{"aside", exchangeAside},
}

func TestExchange(t *testing.T) {
	for _, ex := range exchangers {
		t.Run(ex.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "stage"), filepath.Join(dir, "dst")
			mkdir(t, src, map[string]string{"new": "2"})
			mkdir(t, dst, map[string]string{"old": "1"})
			if err := ex.fn(src, dst); err != nil {
				t.Fatal(err)
			}
			if got := tree(t, dst); len(got) != 1 || got["new"] != "2" {
				t.Errorf("dst holds %v, want the new directory", got)
			}
			if got := tree(t, src); len(got) != 1 || got["old"] != "1" {
				t.Errorf("src holds %v, want the previous directory", got)
			}
			if n := names(t, dir); !slices.Equal(n, []string{"dst", "stage"}) {
				t.Errorf("parent holds %q, want dst and stage only", n)
			}
		})
	}
}

func TestExchangeNoDst(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "stage"), filepath.Join(dir, "dst")
	mkdir(t, src, map[string]string{"new": "2"})
	if err := Exchange(src, dst); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dst); got["new"] != "2" {
		t.Errorf("dst holds %v", got)
	}
	if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("src still exists: %v", err)
	}
}

func TestReplaceDir(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "stage"), filepath.Join(dir, "dst")
	mkdir(t, dst, map[string]string{"old": "1"})
	for i, c := range []string{"a", "b"} {
		mkdir(t, src, map[string]string{c: c})
		if err := ReplaceDir(src, dst); err != nil {
			t.Fatal(err)
		}
		if got := tree(t, dst); len(got) != 1 || got[c] != c {
			t.Errorf("round %d: dst holds %v, want only %s", i, got, c)
		}
		if n := names(t, dir); !slices.Equal(n, []string{"dst"}) {
			t.Errorf("round %d: parent holds %q, want dst only", i, n)
		}
	}
	if err := ReplaceDir(filepath.Join(dir, "missing"), dst); err == nil {
		t.Error("ReplaceDir from a missing directory succeeded")
	}
	if got := tree(t, dst); got["b"] != "b" {
		t.Errorf("a failed replace changed dst: %v", got)
	}
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name      string
		dst       bool
		asides    int
		wantDst   string // the file dst holds afterwards, "" when dst is missing
		wantNames []string
	}{
		{"killed between renames", false, 1, "prev", []string{"dst"}},
		{"swap done, aside left", true, 1, "cur", []string{"dst"}},
		{"nothing to do", true, 0, "cur", []string{"dst"}},
		{"no dst, no aside", false, 0, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "dst")
			if tt.dst {
				mkdir(t, dst, map[string]string{"cur": "cur"})
			}
			for i := 0; i < tt.asides; i++ {
				a, err := os.MkdirTemp(dir, AsidePrefix(dst))
				if err != nil {
					t.Fatal(err)
				}
				mkdir(t, a, map[string]string{"prev": "prev"})
			}
			if err := Recover(dst); err != nil {
				t.Fatal(err)
			}
			if n := names(t, dir); !slices.Equal(n, tt.wantNames) {
				t.Errorf("parent holds %q, want %q", n, tt.wantNames)
			}
			if tt.wantDst != "" {
				if got := tree(t, dst); got[tt.wantDst] == "" {
					t.Errorf("dst holds %v, want %s", got, tt.wantDst)
				}
			}
		})
	}
}

func TestRenameNoReplace(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	mkdir(t, src, map[string]string{"a": "1"})
	mkdir(t, dst, map[string]string{"b": "2"})
	if err := RenameNoReplace(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("rename over an existing directory = %v, want ErrExist", err)
	}
	if got := tree(t, dst); got["b"] != "2" || len(got) != 1 {
		t.Errorf("dst changed: %v", got)
	}
	other := filepath.Join(dir, "other")
	if err := RenameNoReplace(src, other); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, other); got["a"] != "1" {
		t.Errorf("renamed directory holds %v", got)
	}
	if err := RenameNoReplace(filepath.Join(dir, "missing"), filepath.Join(dir, "x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("renaming a missing directory = %v, want ErrNotExist", err)
	}
}

func TestSync(t *testing.T) {
	dir := t.TempDir()
	mkdir(t, filepath.Join(dir, "a", "b"), map[string]string{"f": "x"})
	if err := os.Symlink("f", filepath.Join(dir, "a", "b", "link")); err != nil {
		t.Fatal(err)
	}
	if err := SyncTree(dir); err != nil {
		t.Errorf("SyncTree: %v", err)
	}
	open := func(p string, _ fs.DirEntry) (*os.File, error) { return os.Open(p) }
	if err := syncWalk(dir, open); err != nil {
		t.Errorf("syncWalk: %v", err)
	}
	if err := SyncDir(dir); err != nil {
		t.Errorf("SyncDir: %v", err)
	}
	if err := SyncTree(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SyncTree of a missing directory = %v, want ErrNotExist", err)
	}
}

func TestLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".lock")
	unlock, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	unlock()
	unlock2, err := Lock(p)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()
	if _, err := Lock(filepath.Join(p, "no", "such")); err == nil {
		t.Error("Lock in a missing directory succeeded")
	}
}

func TestLockRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	link := filepath.Join(dir, "link.lock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir.lock")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{"symbolic link", link, "symbolic link"},
		{"directory", sub, "directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Lock(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("Lock(%s) = %v; want a refusal naming the path and %q", tt.path, err, tt.want)
			}
		})
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("the symbolic link's target was created")
	}
}
