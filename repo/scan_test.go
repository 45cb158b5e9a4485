package repo

import (
	"testing"
)

// TestScanChecksum: the pkgid is the sha256 of the whole file, whether it is
// computed inline or in its own goroutine (large files), and corrupt files
// are caught on both paths.
func TestScanChecksum(t *testing.T) {
	rpms := append(specFixtures(t), sharedRPMs(t)...)
	for _, min := range []int64{4 << 20, 0} {
		old := asyncHashMin
		asyncHashMin = min
		pkgs, err := Scan(t.Context(), rpms, ScanOptions{Workers: 3})
		asyncHashMin = old
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range pkgs {
			want, size, err := sha256File(rpms[i])
			if err != nil {
				t.Fatal(err)
			}
			if p.Checksum != want || p.Size != size {
				t.Errorf("async threshold %d: %s: checksum %s size %d, want %s %d", min, rpms[i], p.Checksum, p.Size, want, size)
			}
		}
	}
}
