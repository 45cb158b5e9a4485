package layout

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/regular"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Verify checks an OCI image layout offline: oci-layout and index.json
// parse; every blob under blobs/sha256 hashes to its name; every index,
// manifest, config and layer referenced from index.json exists with the
// size its descriptor states. The error lists every problem found.
func Verify(ctx context.Context, layoutDir string) error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }

	if b, err := regular.ReadFile(filepath.Join(layoutDir, "oci-layout"), MaxManifestSize); err != nil {
		add("oci-layout: %v", err)
	} else {
		var ol struct {
			Version string `json:"imageLayoutVersion"`
		}
		if err := json.Unmarshal(b, &ol); err != nil || ol.Version == "" {
			add("oci-layout: not an OCI layout marker (%q)", b)
		}
	}

	blobDir := filepath.Join(layoutDir, "blobs", "sha256")
	// Sizes come from the directory first: a blob whose size is not its
	// descriptor's is reported without being read, however large it is.
	sizes := map[string]int64{}
	entries, err := os.ReadDir(blobDir)
	if err != nil {
		add("blobs/sha256: %v", err)
	}
	var blobs []string
	for _, e := range entries {
		rel := "blobs/sha256/" + e.Name()
		if !e.Type().IsRegular() {
			add("%s: not a regular file", rel)
			continue
		}
		if _, err := v1.NewHash("sha256:" + e.Name()); err != nil {
			add("%s: file name is not a sha256 digest", rel)
			continue
		}
		fi, err := e.Info()
		if err != nil {
			add("%s: %v", rel, err)
			continue
		}
		sizes[e.Name()] = fi.Size()
		blobs = append(blobs, e.Name())
	}
	wrongSize := map[string]bool{}
	hashAll := func() error {
		for _, name := range blobs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if wrongSize[name] {
				continue
			}
			rel := "blobs/sha256/" + name
			got, _, err := ctxio.SHA256File(ctx, filepath.Join(blobDir, name), nil)
			if err != nil {
				add("%s: %v", rel, err)
				continue
			}
			if got != name {
				add("%s: content hashes to sha256:%s", rel, got)
			}
		}
		return nil
	}

	b, err := regular.ReadFile(filepath.Join(layoutDir, "index.json"), MaxManifestSize)
	if err != nil {
		add("index.json: %v", err)
		if err := hashAll(); err != nil {
			return err
		}
		return layoutError(layoutDir, problems)
	}
	var top v1.IndexManifest
	if err := json.Unmarshal(b, &top); err != nil {
		add("index.json: %v", err)
		if err := hashAll(); err != nil {
			return err
		}
		return layoutError(layoutDir, problems)
	}

	checked := map[v1.Hash]bool{}
	var walk func(d v1.Descriptor, from string, depth int)
	need := func(d v1.Descriptor, from string) bool {
		n, ok := sizes[d.Digest.Hex]
		switch {
		case d.Digest.Algorithm != "sha256":
			add("%s: %s uses unsupported algorithm %q", from, d.Digest, d.Digest.Algorithm)
		case !ok:
			if len(d.URLs) == 0 {
				add("%s: %s %s is missing", from, Kind(d.MediaType), d.Digest)
			}
		case n != d.Size:
			add("%s: %s %s is %d bytes, descriptor says %d", from, Kind(d.MediaType), d.Digest, n, d.Size)
			if n > d.Size {
				// Longer than it should be: not read at all.
				wrongSize[d.Digest.Hex] = true
			}
		default:
			return true
		}
		return false
	}
	walk = func(d v1.Descriptor, from string, depth int) {
		if checked[d.Digest] {
			return
		}
		checked[d.Digest] = true
		if !need(d, from) {
			return
		}
		here := Kind(d.MediaType) + " " + d.Digest.String()
		if depth > MaxIndexDepth {
			add("%s: %s: %v (the limit is %d)", from, here, ErrTooDeep, MaxIndexDepth)
			return
		}
		if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
			return
		}
		raw, err := readLayoutBlob(blobDir, d, MaxManifestSize)
		if err != nil {
			add("%s: %s: %v", from, here, err)
			return
		}
		switch {
		case d.MediaType.IsIndex():
			var im v1.IndexManifest
			if err := json.Unmarshal(raw, &im); err != nil {
				add("%s: %v", here, err)
				return
			}
			for _, c := range im.Manifests {
				walk(c, here, depth+1)
			}
		case d.MediaType.IsImage():
			var m v1.Manifest
			if err := json.Unmarshal(raw, &m); err != nil {
				add("%s: %v", here, err)
				return
			}
			if m.Config.Digest.Hex == "" {
				add("%s: no config", here)
			} else if err := CheckConfigSize(&m); err != nil {
				add("%s: %v", here, err)
			} else {
				need(m.Config, here)
			}
			for _, l := range m.Layers {
				need(l, here)
			}
		}
	}
	for _, d := range top.Manifests {
		walk(d, "index.json", 0)
	}
	if err := hashAll(); err != nil {
		return err
	}
	return layoutError(layoutDir, problems)
}

func Kind(mt types.MediaType) string {
	switch {
	case mt.IsIndex():
		return "index"
	case mt.IsImage():
		return "manifest"
	case mt.IsConfig():
		return "config"
	case mt.IsLayer():
		return "layer"
	}
	return "blob"
}

// Error is what Verify returns for a layout that does not check out: it
// lists every problem found.
type Error struct {
	Dir      string
	Problems []error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("OCI layout %q: %d problem(s):", e.Dir, len(e.Problems))
	for _, p := range e.Problems {
		s += "\n  " + p.Error()
	}
	return s
}

// Unwrap gives the individual problems.
func (e *Error) Unwrap() []error { return e.Problems }

func layoutError(dir string, problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Error() < problems[j].Error() })
	return &Error{Dir: dir, Problems: problems}
}
