package read

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/volume"
)

// VolumeInfo reads bundle.json from the bundle archive (or volume set) at
// path and returns what a volume manifest names the bundle by (its name,
// version and the sha256 of bundle.json), with the parsed bundle.json.
func VolumeInfo(ctx context.Context, path string) (volume.Info, *manifest.Manifest, error) {
	files, err := Files(ctx, path, map[string]int64{manifest.FileName: manifest.MaxMetaSize})
	if err != nil {
		return volume.Info{}, nil, err
	}
	data, ok := files[manifest.FileName]
	if !ok {
		return volume.Info{}, nil, &archive.Error{Archive: path, Err: fmt.Errorf("no %s", manifest.FileName)}
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return volume.Info{}, nil, &archive.Error{Archive: path, Entry: manifest.FileName, Err: err}
	}
	sum := sha256.Sum256(data)
	return volume.Info{Name: m.Name, Version: m.Version, BundleSHA256: hex.EncodeToString(sum[:])}, m, nil
}
