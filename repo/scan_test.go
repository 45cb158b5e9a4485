package repo

import (
	"context"
	"testing"

	"github.com/bdebundle/bundle/internal/ctxio"
)

// TestScanChecksum: the pkgid is the sha256 of the whole file whatever the
// size of the reads that feed the payload to the hashes (1000 bytes: reads
// that end off SHA-256 block boundaries).
func TestScanChecksum(t *testing.T) {
	rpms := append(specFixtures(t), corpusRPMs(t)...)
	for _, chunk := range []int{1 << 20, 1000} {
		old := payloadChunk
		payloadChunk = chunk
		pkgs, err := Scan(t.Context(), rpms, ScanOptions{Workers: 3})
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
