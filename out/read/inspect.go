package read

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
)

// Inspection is what a bundle holds, from its bundle.json.
type Inspection struct {
	Path     string             `json:"path"`
	Kind     string             `json:"kind"` // "dir" or "archive"
	Signed   bool               `json:"signed"`
	Files    int                `json:"files"`
	Bytes    int64              `json:"bytes"`
	Manifest *manifest.Manifest `json:"manifest"`
}

// Inspect reads bundle.json from a bundle directory or archive. It does not
// check hashes; run Verify for that.
func Inspect(ctx context.Context, path string) (*Inspection, error) {
	arch, err := archive.IsArchive(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	in := &Inspection{Path: path, Kind: "dir"}
	var data []byte
	if arch {
		in.Kind = "archive"
		got, err := readArchiveFiles(ctx, path, func(rel string) int64 {
			if rel == manifest.FileName || rel == manifest.SignatureName {
				return manifest.MaxMetaSize
			}
			return -1
		})
		if err != nil {
			return nil, err
		}
		var ok bool
		if data, ok = got[manifest.FileName]; !ok {
			return nil, fmt.Errorf("reading bundle %q: no %s in the archive", path, manifest.FileName)
		}
		_, in.Signed = got[manifest.SignatureName]
	} else {
		data, err = readSmall(filepath.Join(path, manifest.FileName))
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

// errFound ends an archive walk once what it looks for was read.
var errFound = errors.New("found")

// Manifest reads and parses bundle.json of a bundle directory or archive;
// an archive is read only as far as bundle.json, its entries checked as
// Verify checks them. It checks no hashes: run Verify for that.
func Manifest(ctx context.Context, path string) (*manifest.Manifest, error) {
	arch, err := archive.IsArchive(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	var data []byte
	if arch {
		_, err := archive.Walk(ctx, path, nil, func(h *tar.Header, rel string, r io.Reader) error {
			if h.Typeflag != tar.TypeReg || rel != manifest.FileName {
				return nil
			}
			b, err := io.ReadAll(r) // bounded: archive.Walk admits at most manifest.MaxMetaSize
			if err != nil {
				return &archive.Error{Archive: path, Entry: h.Name, Err: err}
			}
			data = b
			return errFound
		})
		if err != nil && !errors.Is(err, errFound) {
			return nil, fmt.Errorf("reading bundle %q: %w", path, err)
		}
		if data == nil {
			return nil, fmt.Errorf("reading bundle %q: the archive holds no %s: not a bundle", path, manifest.FileName)
		}
	} else {
		p := filepath.Join(path, manifest.FileName)
		if data, err = readSmall(p); err != nil {
			return nil, fmt.Errorf("reading bundle %q: %w (not a bundle directory?)", path, err)
		}
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	return m, nil
}

// readArchiveFiles streams an archive and returns the content of the files
// (paths below the top directory) that limit admits: limit(rel) is the most
// bytes to read of rel (a larger file is left out), negative for a file not
// wanted. Unsafe entries, and entries bundle.json does not bound, are an
// error.
func readArchiveFiles(ctx context.Context, path string, limit func(rel string) int64) (map[string][]byte, error) {
	out := map[string][]byte{}
	_, err := archive.Walk(ctx, path, nil, func(h *tar.Header, rel string, r io.Reader) error {
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		if max := limit(rel); max < 0 || h.Size > max {
			return nil
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return &archive.Error{Archive: path, Entry: h.Name, Err: err}
		}
		out[rel] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	return out, nil
}

// readBundleFiles returns the content of the files of a bundle dir or
// archive named in limits, each read when it holds at most the bytes limits
// gives it (larger ones are left out). An archive is read once.
func readBundleFiles(ctx context.Context, path string, limits map[string]int64) (map[string][]byte, error) {
	arch, err := archive.IsArchive(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	if arch {
		return readArchiveFiles(ctx, path, func(rel string) int64 {
			if max, ok := limits[rel]; ok {
				return max
			}
			return -1
		})
	}
	out := map[string][]byte{}
	for p, limit := range limits {
		if manifest.CheckRelPath(p) != nil {
			continue
		}
		full := filepath.Join(path, filepath.FromSlash(p))
		fi, err := os.Lstat(full)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > limit {
			continue
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", full, err)
		}
		out[p] = data
	}
	return out, nil
}
