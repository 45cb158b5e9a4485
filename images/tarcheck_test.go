package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/images/layout"
)

// TestHostileDockerArchive: a docker archive whose manifest.json or config
// is larger than the caps is refused from its tar headers, before
// go-containerregistry reads the entry into memory.
func TestHostileDockerArchive(t *testing.T) {
	for _, tc := range []struct {
		entry string
		size  int
	}{
		{"manifest.json", layout.MaxManifestSize + 1},
		{strings.Repeat("c", 64) + ".json", layout.MaxConfigSize + 1},
	} {
		t.Run(tc.entry, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "image.tar")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			tw := tar.NewWriter(f)
			if err := tw.WriteHeader(&tar.Header{Name: tc.entry, Mode: 0o644, Size: int64(tc.size), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(bytes.Repeat([]byte(" "), tc.size)); err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(tw.Close(), f.Close()); err != nil {
				t.Fatal(err)
			}
			_, err = Lock(context.Background(), []Spec{{Name: "web", Ref: "docker-archive:" + p}}, quick())
			if !errors.Is(err, layout.ErrTooLarge) || !strings.Contains(err.Error(), tc.entry) {
				t.Fatalf("archive with a %d-byte %s: %v", tc.size, tc.entry, err)
			}
		})
	}
}
