//go:build unix

package regular

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		max  int64
		want error
	}{
		{fifo, 10, ErrNotRegular},
		{dir, 10, ErrNotRegular},
		{"/dev/null", 10, ErrNotRegular},
		{file, 4, ErrTooLarge},
		{file, 5, nil},
		{link, 5, nil},
		{filepath.Join(dir, "missing"), 5, os.ErrNotExist},
	}
	for _, tc := range cases {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(tc.path, tc.max); done <- err }()
		select {
		case err := <-done:
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.path, err, tc.want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: ReadFile hangs", tc.path)
		}
	}
}
