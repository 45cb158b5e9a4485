package pipeline

import (
	"context"

	"github.com/bdebundle/bundle/out/delta"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/out/volume"
)

// ParseVolumeSize reads a volume size (volume.ParseSize: "4.7GB", "4GiB",
// "dvd", "fat32", ...).
func ParseVolumeSize(s string) (int64, error) { return volume.ParseSize(s) }

// IsVolume reports whether path is named as one volume of a set.
func IsVolume(path string) bool { return volume.IsVolume(path) }

// CheckVolume verifies one volume against the volume manifest beside it.
func CheckVolume(ctx context.Context, path string, key []byte) (*volume.VolumeReport, error) {
	return volume.CheckVolume(ctx, path, key)
}

// Volumes is what SplitArchive wrote.
type Volumes struct {
	Manifest   string `json:"manifest"`
	Dir        string `json:"dir"`
	Volumes    int    `json:"volumes"`
	VolumeSize int64  `json:"volume_size"`
	Signed     bool   `json:"signed"`
}

// SplitArchive cuts the bundle archive at archive into volumes of size
// bytes in dir with the volume manifest naming the bundle it holds, signed
// with key (when not nil) at the bundle's epoch. The caller verifies the
// archive first.
func SplitArchive(ctx context.Context, archive, dir string, size int64, key, passphrase []byte) (*Volumes, error) {
	info, m, err := read.VolumeInfo(ctx, archive)
	if err != nil {
		return nil, err
	}
	var sign volume.Signer
	if key != nil {
		sign = func(data []byte) ([]byte, error) { return manifest.Sign(data, key, passphrase, m.Epoch) }
	}
	vm, mp, err := volume.Split(ctx, archive, dir, size, info, sign)
	if err != nil {
		return nil, err
	}
	return &Volumes{Manifest: mp, Dir: dir, Volumes: len(vm.Volumes), VolumeSize: size, Signed: key != nil}, nil
}

// IsDelta reports whether path is a delta directory.
func IsDelta(path string) bool { return delta.IsDelta(path) }

// LoadBase reads the base release of a delta (delta.LoadBase).
func LoadBase(ctx context.Context, path string) (*delta.Base, error) {
	return delta.LoadBase(ctx, path)
}

// WriteDelta writes the delta of the bundle directory bundleDir against
// base into outDir (delta.Write).
func WriteDelta(ctx context.Context, bundleDir string, base *delta.Base, outDir string) (*delta.Result, error) {
	return delta.Write(ctx, bundleDir, base, outDir)
}

// VerifyDelta checks the delta at dir, alone or against base (delta.Verify).
func VerifyDelta(ctx context.Context, dir string, base *delta.Base, key []byte) (*delta.Report, error) {
	return delta.Verify(ctx, dir, base, key)
}

// Merge writes the full new bundle from base and the delta at dir into
// outDir (delta.Merge).
func Merge(ctx context.Context, base *delta.Base, dir, outDir string, key []byte) (string, *delta.Report, error) {
	return delta.Merge(ctx, base, dir, outDir, key)
}
