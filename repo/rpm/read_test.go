package rpm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// TestReadChecksum: the pkgid is the sha256 of the whole file whatever the
// size of the reads that feed the payload to the hashes (1000 bytes: reads
// that end off SHA-256 block boundaries).
func TestReadChecksum(t *testing.T) {
	rpms := append(rpmfixture.SpecFixtures(t), rpmfixture.Corpus(t)...)
	for _, chunk := range []int{1 << 20, 1000} {
		old := payloadChunk
		payloadChunk = chunk
		pkgs, err := readAll(t.Context(), rpms, readOptions{})
		payloadChunk = old
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pkgs {
			want, size, err := ctxio.SHA256File(context.Background(), rpms[i], nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Checksum != want || p.Size != size {
				t.Errorf("reads of %d: %s: checksum %s size %d, want %s %d", chunk, rpms[i], p.Checksum, p.Size, want, size)
			}
		}
	}
}

// TestReadCorrupt: each damaged package is refused with an error naming
// the file and the problem, with reads small enough (1000 bytes) that a
// payload spans many of them.
func TestReadCorrupt(t *testing.T) {
	old := payloadChunk
	payloadChunk = 1000
	defer func() { payloadChunk = old }()
	for _, tt := range rpmfixture.CorruptRPMs(t) {
		t.Run(tt.Name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "victim.rpm")
			if tt.Data == nil {
				if err := os.Symlink(bad+".missing", bad); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(bad, tt.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readAll(t.Context(), []string{bad}, readOptions{})
			if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), tt.Want) {
				t.Errorf("error %v should name %s and say %q", err, bad, tt.Want)
			}
		})
	}
}
