package repo

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
	"github.com/klauspost/compress/gzip"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { os.Exit(rpmfixture.Main(m)) }

// indexDir runs Index with a fixed epoch and fails the test on error.
func indexDir(t testing.TB, dir string, opts IndexOptions) *IndexResult {
	t.Helper()
	if opts.Epoch == 0 {
		opts.Epoch = 1426032000
	}
	res, err := Index(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Index(%s): %v", dir, err)
	}
	return res
}

// readRepodataFiles returns the decompressed primary, filelists and other
// of a repository plus repomd.xml.
func readRepodataFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	md, err := readRepomd(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, d := range md.Data {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(d.Location.Href)))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(d.Location.Href, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		out[d.Type] = b
	}
	return out
}

func contextWithCancel(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
