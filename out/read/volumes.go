package read

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/volume"
)

// VolumeInfo reads bundle.json from the bundle archive (or volume set) at
// path and returns what a volume manifest names the bundle by (its name,
// version and the sha256 of bundle.json), with the parsed bundle.json. As
// Manifest does, it reads an archive only as far as bundle.json, which the
// archive's sorted order puts near its start.
func VolumeInfo(ctx context.Context, path string) (volume.Info, *manifest.Manifest, error) {
	data, m, err := manifestFile(ctx, path)
	if err != nil {
		return volume.Info{}, nil, err
	}
	sum := sha256.Sum256(data)
	return volume.Info{Name: m.Name, Version: m.Version, BundleSHA256: hex.EncodeToString(sum[:])}, m, nil
}
