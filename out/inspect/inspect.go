package inspect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/out/volume"
)

// Inspection is what a bundle holds, from its bundle.json.
type Inspection struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"` // "dir", "archive" or "volumes"
	Signed bool   `json:"signed"`
	// Volumes is the number of volumes of a volume set (kind "volumes").
	Volumes  int                `json:"volumes,omitempty"`
	Files    int                `json:"files"`
	Bytes    int64              `json:"bytes"`
	Manifest *manifest.Manifest `json:"manifest"`
}

// Bundle reads bundle.json from a bundle directory or archive. It does not
// check hashes; run verify.Verify for that.
func Bundle(ctx context.Context, path string) (*Inspection, error) {
	arch, err := archive.IsArchive(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	in := &Inspection{Path: path, Kind: "dir"}
	var data []byte
	if arch {
		in.Kind = "archive"
		if volume.IsSet(path) {
			set, err := volume.Open(path, nil)
			if err != nil {
				return nil, fmt.Errorf("reading bundle %q: %w", path, &archive.Error{Archive: path, Err: err})
			}
			in.Kind, in.Volumes = "volumes", len(set.Manifest.Volumes)
		}
		got, err := read.Files(ctx, path, map[string]int64{manifest.FileName: manifest.MaxMetaSize, manifest.SignatureName: manifest.MaxMetaSize})
		if err != nil {
			return nil, err
		}
		var ok bool
		if data, ok = got[manifest.FileName]; !ok {
			return nil, fmt.Errorf("reading bundle %q: no %s in the archive", path, manifest.FileName)
		}
		_, in.Signed = got[manifest.SignatureName]
	} else {
		data, err = read.Small(filepath.Join(path, manifest.FileName))
		if err != nil {
			return nil, fmt.Errorf("reading bundle %q: %w", path, err)
		}
		_, err = os.Stat(filepath.Join(path, manifest.SignatureName))
		in.Signed = err == nil
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	m.Normalize()
	in.Manifest = m
	in.Files = len(m.Files)
	for _, f := range m.Files {
		in.Bytes += f.Size
	}
	return in, nil
}
