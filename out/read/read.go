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
	"github.com/bdebundle/bundle/sbom"
)

// errFound ends an archive walk once what it looks for was read.
var errFound = errors.New("found")

// Manifest reads and parses bundle.json of a bundle directory or archive;
// an archive is read only as far as bundle.json, its entries checked as
// Verify checks them. It checks no hashes: run Verify for that.
func Manifest(ctx context.Context, path string) (*manifest.Manifest, error) {
	_, m, err := manifestFile(ctx, path)
	return m, err
}

// manifestFile reads bundle.json of a bundle directory or archive, as
// Manifest does, and returns its bytes with the parsed manifest.
func manifestFile(ctx context.Context, path string) ([]byte, *manifest.Manifest, error) {
	arch, err := archive.IsArchive(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading bundle %q: %w", path, err)
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
			return nil, nil, fmt.Errorf("reading bundle %q: %w", path, err)
		}
		if data == nil {
			return nil, nil, fmt.Errorf("reading bundle %q: the archive holds no %s: not a bundle", path, manifest.FileName)
		}
	} else {
		p := filepath.Join(path, manifest.FileName)
		if data, err = Small(p); err != nil {
			return nil, nil, fmt.Errorf("reading bundle %q: %w (not a bundle directory?)", path, err)
		}
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	return data, m, nil
}

// archiveFiles streams an archive and returns the content of the files
// (paths below the top directory) that limit admits: limit(rel) is the most
// bytes to read of rel (a larger file is left out), negative for a file not
// wanted. Unsafe entries, and entries bundle.json does not bound, are an
// error.
func archiveFiles(ctx context.Context, path string, limit func(rel string) int64) (map[string][]byte, error) {
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

// Files returns the content of the files of a bundle dir or archive named
// in limits, each read when it holds at most the bytes limits gives it
// (larger ones are left out). An archive is read once.
func Files(ctx context.Context, path string, limits map[string]int64) (map[string][]byte, error) {
	arch, err := archive.IsArchive(path)
	if err != nil {
		return nil, fmt.Errorf("reading bundle %q: %w", path, err)
	}
	if arch {
		return archiveFiles(ctx, path, func(rel string) int64 {
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

// Small reads the file p, a bundle's metadata file (bundle.json,
// SHA256SUMS, the signature), refusing one of more than
// manifest.MaxMetaSize bytes.
func Small(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, manifest.MaxMetaSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	if len(data) > manifest.MaxMetaSize {
		return nil, fmt.Errorf("reading %q: larger than %d bytes", p, manifest.MaxMetaSize)
	}
	return data, nil
}

// SBOM parses the SBOM of the bundle at bundlePath from files (what Files
// read of it); nil when the bundle has none.
func SBOM(bundlePath string, m *manifest.Manifest, files map[string][]byte) (*sbom.Summary, error) {
	if !m.HasFile(sbom.FileName) {
		return nil, nil
	}
	data, ok := files[sbom.FileName]
	if !ok {
		return nil, fmt.Errorf("reading %q: %s is listed in bundle.json but missing", bundlePath, sbom.FileName)
	}
	s, err := sbom.Read(data)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", bundlePath, err)
	}
	return s, nil
}
