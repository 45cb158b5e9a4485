package siteapi

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
)

// BundleFile is one rendered definition in a bundle directory.
type BundleFile struct {
	Path    string // the bundle path, clusters/<cluster>/<kind>/<name>.json
	Cluster string
	Data    []byte
}

// MaxDefinition bounds one app or job definition read from a bundle.
const MaxDefinition = 1 << 20

// LoadBundleFiles reads the files bundle.json lists at
// clusters/<cluster>/<kind>/<name>.json from the bundle directory dir (a
// verified bundle), sorted by path.
func LoadBundleFiles(dir string, m *manifest.Manifest, kind string) ([]BundleFile, error) {
	var out []BundleFile
	for _, f := range m.Files {
		parts := strings.Split(f.Path, "/")
		if len(parts) != 4 || parts[0] != "clusters" || parts[2] != kind || !strings.HasSuffix(parts[3], ".json") {
			continue
		}
		b, err := regular.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)), MaxDefinition)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", f.Path, err)
		}
		out = append(out, BundleFile{Path: f.Path, Cluster: parts[1], Data: b})
	}
	return out, nil
}
