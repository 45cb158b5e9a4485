package volume

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
)

// Schema is the value of the volume manifest's "schema" key.
const Schema = "bundle-volumes/v1"

// Suffixes of the volume manifest and its signature, after the archive's
// file name.
const (
	ManifestSuffix  = ".volumes.json"
	SignatureSuffix = ".volumes.json.sig"
)

// MaxVolumes bounds a set, so a typo in a size never writes a million
// files.
const MaxVolumes = 100_000

// maxManifestSize bounds the volume manifest read into memory.
const maxManifestSize = 32 << 20

// Manifest is the volume manifest. Field order is the key order of the
// file.
type Manifest struct {
	Schema        string  `json:"schema"`
	Name          string  `json:"name"`
	Version       string  `json:"version"`
	BundleSHA256  string  `json:"bundle_sha256"` // the bundle's id: sha256 of its bundle.json
	Archive       string  `json:"archive"`       // the archive's file name
	ArchiveSize   int64   `json:"archive_size"`
	ArchiveSHA256 string  `json:"archive_sha256"`
	VolumeSize    int64   `json:"volume_size"`
	Volumes       []Entry `json:"volumes"`
}

// Entry is one volume.
type Entry struct {
	Index  int    `json:"index"` // 1-based
	Name   string `json:"name"`  // file name, beside the manifest
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ManifestName is the volume manifest's file name for an archive name.
func ManifestName(archive string) string { return archive + ManifestSuffix }

// volumeName is volume i's file name of n.
func volumeName(archive string, i, n int) string {
	w := len(fmt.Sprint(n))
	if w < 3 {
		w = 3
	}
	return fmt.Sprintf("%s.vol%0*d", archive, w, i)
}

// Encode returns the canonical encoding: 2-space indented JSON and a
// newline.
func (m *Manifest) Encode() []byte {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // plain strings and numbers always encode
	}
	return append(b, '\n')
}

// Parse reads a volume manifest and checks its shape: the schema, file
// names without directories, volumes numbered 1..N, every volume but the
// last of the volume size, and sizes adding up to the archive's.
func Parse(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a volume manifest: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a volume manifest: data after the JSON object")
	}
	if m.Schema != Schema {
		return nil, fmt.Errorf("schema %q, want %q", m.Schema, Schema)
	}
	if err := plainName(m.Archive); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	if !isHex(m.ArchiveSHA256) || !isHex(m.BundleSHA256) {
		return nil, errors.New("archive_sha256 and bundle_sha256 must be sha256 digests in hex")
	}
	n := len(m.Volumes)
	if n == 0 || n > MaxVolumes {
		return nil, fmt.Errorf("%d volumes (want 1 to %d)", n, MaxVolumes)
	}
	if m.VolumeSize < 1 {
		return nil, errors.New("volume_size must be positive")
	}
	var total int64
	names := map[string]bool{}
	for i, v := range m.Volumes {
		switch {
		case v.Index != i+1:
			return nil, fmt.Errorf("volume %d is numbered %d", i+1, v.Index)
		case plainName(v.Name) != nil:
			return nil, fmt.Errorf("volume %d: %w", v.Index, plainName(v.Name))
		case names[v.Name] || v.Name == ManifestName(m.Archive):
			return nil, fmt.Errorf("volume %d: name %q used twice", v.Index, v.Name)
		case !isHex(v.SHA256):
			return nil, fmt.Errorf("volume %d: sha256 %q is not a sha256 digest in hex", v.Index, v.SHA256)
		case v.Size < 1 || v.Size > m.VolumeSize || (i < n-1 && v.Size != m.VolumeSize):
			return nil, fmt.Errorf("volume %d: size %d does not fit volume_size %d", v.Index, v.Size, m.VolumeSize)
		}
		names[v.Name] = true
		if total > math.MaxInt64-v.Size {
			return nil, fmt.Errorf("the volumes hold more than %d bytes", int64(math.MaxInt64))
		}
		total += v.Size
	}
	if total != m.ArchiveSize {
		return nil, fmt.Errorf("the volumes hold %d bytes, archive_size is %d", total, m.ArchiveSize)
	}
	return &m, nil
}

func plainName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\`) || filepath.Base(s) != s || strings.ContainsRune(s, 0) {
		return fmt.Errorf("%q is not a plain file name", s)
	}
	return nil
}

func isHex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
