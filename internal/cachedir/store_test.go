package cachedir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	base := t.TempDir()
	cases := []struct {
		name  string
		setup func(d string)
		want  string // "" = opened
	}{
		{"created", func(d string) {}, ""},
		{"group-writable", func(d string) { os.MkdirAll(d, 0o700); os.Chmod(d, 0o770) }, "writable by group or others"},
		{"world-writable", func(d string) { os.MkdirAll(d, 0o700); os.Chmod(d, 0o777) }, "writable by group or others"},
		{"key readable by others", func(d string) {
			os.MkdirAll(d, 0o700)
			os.WriteFile(filepath.Join(d, "key"), bytes.Repeat([]byte{1}, keySize), 0o644)
		}, "readable or writable by group or others"},
		{"key of the wrong size", func(d string) {
			os.MkdirAll(d, 0o700)
			os.WriteFile(filepath.Join(d, "key"), []byte("short"), 0o600)
		}, "is not a 32-byte file"},
		{"key a symlink", func(d string) {
			os.MkdirAll(d, 0o700)
			k := filepath.Join(base, "elsewhere")
			os.WriteFile(k, bytes.Repeat([]byte{1}, keySize), 0o600)
			os.Symlink(k, filepath.Join(d, "key"))
		}, "key"},
	}
	if os.Getuid() == 0 {
		cases = append(cases, struct {
			name  string
			setup func(d string)
			want  string
		}{"owned by another user", func(d string) { os.MkdirAll(d, 0o700); os.Chown(d, 65534, 65534) }, "owned by uid 65534"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "-"))
			tc.setup(d)
			s, err := Open(d)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				fi, err := os.Stat(filepath.Join(d, "key"))
				if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != keySize {
					t.Fatalf("key %v %v", fi, err)
				}
				if di, _ := os.Stat(d); di.Mode().Perm() != 0o700 {
					t.Errorf("directory mode %o", di.Mode().Perm())
				}
				again, err := Open(d)
				if err != nil || !again.Verify("x", []byte("body"), s.Seal("x", []byte("body"))) {
					t.Errorf("reopened: the key changed (%v)", err)
				}
				if s.Verify("y", []byte("body"), s.Seal("x", []byte("body"))) || s.Verify("x", []byte("bodY"), s.Seal("x", []byte("body"))) {
					t.Error("a tag verifies another domain or body")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want %q", err, tc.want)
			}
			if private := tc.name != "key of the wrong size" && tc.name != "key a symlink"; errors.Is(err, ErrNotPrivate) != private {
				t.Errorf("Open: %v; errors.Is ErrNotPrivate %v, want %v", err, !private, private)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Sub("entries")
	if err != nil {
		t.Fatal(err)
	}
	old, fresh, tmp := filepath.Join(d, "ab", "old"), filepath.Join(d, "fresh"), filepath.Join(d, ".tmp-1")
	for _, p := range []string{old, fresh, tmp} {
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-MaxAge - time.Hour)
	os.Chtimes(old, long, long)
	twoHours := time.Now().Add(-2 * time.Hour)
	os.Chtimes(tmp, twoHours, twoHours)
	if n := Prune(d); n != 2 {
		t.Errorf("pruned %d, want 2", n)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh entry gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "key")); err != nil {
		t.Errorf("key gone: %v", err)
	}
	// Within PruneEvery nothing is walked.
	os.WriteFile(old, []byte("x"), 0o600)
	os.Chtimes(old, long, long)
	if n := Prune(d); n != 0 {
		t.Errorf("pruned again at once: %d", n)
	}
	// A hit refreshes an entry a day old.
	fi, _ := os.Stat(old)
	Touch(old, fi)
	if fi2, _ := os.Stat(old); time.Since(fi2.ModTime()) > time.Minute {
		t.Errorf("touched entry still dated %v", fi2.ModTime())
	}
}
