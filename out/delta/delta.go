package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/out/volume"
)

// Schema is the value of delta.json's "schema" key.
const Schema = "bundle-delta/v1"

// FileName is the delta's own manifest, at the root of the delta directory.
const FileName = "delta.json"

// Suffix ends a delta directory's name: <name>-<version>.delta.
const Suffix = ".delta"

// Ref names a release: its name, version and the sha256 of its bundle.json.
type Ref struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	BundleSHA256 string `json:"bundle_sha256"`
}

// Manifest is delta.json. Field order is the key order of the file.
type Manifest struct {
	Schema   string     `json:"schema"`
	Bundle   Ref        `json:"bundle"`
	Base     Ref        `json:"base"`
	Files    []File     `json:"files"`     // carried in the delta
	FromBase []FromBase `json:"from_base"` // taken from the base
}

// File is one file carried in the delta, at its bundle path.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// FromBase is one file of the new release whose bytes the base holds at
// BasePath.
type FromBase struct {
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	BasePath string `json:"base_path"`
}

func (m *Manifest) encode() []byte {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// parse reads delta.json strictly.
func parse(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a delta manifest: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a delta manifest: data after the JSON object")
	}
	if m.Schema != Schema {
		return nil, fmt.Errorf("schema %q, want %q", m.Schema, Schema)
	}
	for _, r := range []Ref{m.Bundle, m.Base} {
		if !manifest.IsSHA256(r.BundleSHA256) {
			return nil, fmt.Errorf("bundle_sha256 %q is not a sha256 digest", r.BundleSHA256)
		}
	}
	for _, f := range m.Files {
		if err := manifest.CheckRelPath(f.Path); err != nil || manifest.IsMetaFile(f.Path) || f.Path == FileName {
			return nil, fmt.Errorf("file %q: not a bundle file path", f.Path)
		}
		if f.Size < 0 || !manifest.IsSHA256(f.SHA256) {
			return nil, fmt.Errorf("file %q: size %d or sha256 %q is not a file's", f.Path, f.Size, f.SHA256)
		}
	}
	for _, f := range m.FromBase {
		if manifest.CheckRelPath(f.Path) != nil || manifest.CheckRelPath(f.BasePath) != nil {
			return nil, fmt.Errorf("from_base %q (%q): not a bundle file path", f.Path, f.BasePath)
		}
		if f.Size < 0 || !manifest.IsSHA256(f.SHA256) {
			return nil, fmt.Errorf("from_base %q: size %d or sha256 %q is not a file's", f.Path, f.Size, f.SHA256)
		}
	}
	return &m, nil
}

// IsDelta reports whether path is a delta directory (it holds delta.json).
func IsDelta(path string) bool {
	fi, err := os.Stat(filepath.Join(path, FileName))
	return err == nil && fi.Mode().IsRegular()
}

// Base is a base release, read by LoadBase.
type Base struct {
	Path     string
	Kind     string // "dir", "archive", "volumes", "manifest" (bundle.json alone), "delta" (its bundle.json)
	Ref      Ref
	Manifest *manifest.Manifest
}

// HasFiles reports whether the base holds its files (not just bundle.json).
func (b *Base) HasFiles() bool { return b.Kind != "manifest" && b.Kind != "delta" }

// LoadBase reads the base release at path: a bundle directory, an archive,
// a volume set, a bundle.json file, or a delta (its bundle.json: a delta
// of a delta).
func LoadBase(ctx context.Context, path string) (*Base, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading base %q: %w", path, err)
	}
	b := &Base{Path: path}
	var data []byte
	switch {
	case volume.IsSet(path):
		b.Kind = "volumes"
	case IsDelta(path):
		b.Kind = "delta"
		data, err = regular.ReadFile(filepath.Join(path, manifest.FileName), manifest.MaxMetaSize)
	case fi.IsDir():
		b.Kind = "dir"
		data, err = regular.ReadFile(filepath.Join(path, manifest.FileName), manifest.MaxMetaSize)
	case strings.HasSuffix(path, ".json"):
		b.Kind = "manifest"
		data, err = regular.ReadFile(path, manifest.MaxMetaSize)
	default:
		b.Kind = "archive"
	}
	if err != nil {
		return nil, fmt.Errorf("reading base %q: %w", path, err)
	}
	if data == nil {
		info, m, err := read.VolumeInfo(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("reading base %q: %w", path, err)
		}
		b.Manifest, b.Ref = m, Ref{Name: m.Name, Version: m.Version, BundleSHA256: info.BundleSHA256}
		return b, nil
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading base %q: %s: %w", path, manifest.FileName, err)
	}
	b.Manifest, b.Ref = m, Ref{Name: m.Name, Version: m.Version, BundleSHA256: sha256Hex(data)}
	return b, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Result is what Write wrote.
type Result struct {
	Dir           string `json:"dir"`
	Carried       int    `json:"files_carried"`
	CarriedBytes  int64  `json:"bytes_carried"`
	FromBase      int    `json:"files_from_base"`
	FromBaseBytes int64  `json:"bytes_from_base"`
	Base          Ref    `json:"base"`
}

// Write writes the delta of the verified bundle directory bundleDir
// against base into outDir/<name>-<version>.delta (replacing an earlier
// delta there, never anything else): bundle.json, SHA256SUMS and
// bundle.json.sig as they are, the files no base file matches by sha256,
// and delta.json. It is written under a temporary name and renamed into
// place when complete.
func Write(ctx context.Context, bundleDir string, base *Base, outDir string) (*Result, error) {
	data, err := regular.ReadFile(filepath.Join(bundleDir, manifest.FileName), manifest.MaxMetaSize)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", bundleDir, err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", filepath.Join(bundleDir, manifest.FileName), err)
	}
	have := map[string]string{} // sha256 → first base path holding it
	for _, f := range base.Manifest.Files {
		if _, ok := have[f.SHA256]; !ok {
			have[f.SHA256] = f.Path
		}
	}
	dm := &Manifest{Schema: Schema, Bundle: Ref{Name: m.Name, Version: m.Version, BundleSHA256: sha256Hex(data)}, Base: base.Ref,
		Files: []File{}, FromBase: []FromBase{}}
	final := filepath.Join(outDir, m.Dir()+Suffix)
	if _, err := os.Lstat(final); err == nil && !IsDelta(final) {
		return nil, fmt.Errorf("%q exists and is not a delta: not replaced", final)
	}
	tmp, err := os.MkdirTemp(outDir, "."+m.Dir()+Suffix+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("writing the delta: %w", err)
	}
	fail := func(err error) (*Result, error) {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	res := &Result{Dir: final, Base: base.Ref}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if bp, ok := have[f.SHA256]; ok {
			dm.FromBase = append(dm.FromBase, FromBase{Path: f.Path, Size: f.Size, SHA256: f.SHA256, BasePath: bp})
			res.FromBase++
			res.FromBaseBytes += f.Size
			continue
		}
		if err := copyChecked(filepath.Join(bundleDir, filepath.FromSlash(f.Path)), filepath.Join(tmp, filepath.FromSlash(f.Path)), f); err != nil {
			return fail(err)
		}
		dm.Files = append(dm.Files, File{Path: f.Path, Size: f.Size, SHA256: f.SHA256})
		res.Carried++
		res.CarriedBytes += f.Size
	}
	for _, meta := range []string{manifest.FileName, manifest.SumsName, manifest.SignatureName} {
		b, err := regular.ReadFile(filepath.Join(bundleDir, meta), manifest.MaxMetaSize)
		if errors.Is(err, os.ErrNotExist) && meta == manifest.SignatureName {
			continue
		}
		if err != nil {
			return fail(fmt.Errorf("reading %q: %w", filepath.Join(bundleDir, meta), err))
		}
		if meta == manifest.FileName && !bytes.Equal(b, data) {
			return fail(fmt.Errorf("%q changed while the delta was written", filepath.Join(bundleDir, meta)))
		}
		if err := os.WriteFile(filepath.Join(tmp, meta), b, 0o644); err != nil {
			return fail(fmt.Errorf("writing the delta: %w", err))
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, FileName), dm.encode(), 0o644); err != nil {
		return fail(fmt.Errorf("writing the delta: %w", err))
	}
	if err := atomicfs.SyncTree(tmp); err != nil {
		return fail(fmt.Errorf("writing the delta: %w", err))
	}
	// An earlier delta is swapped out, never removed before this one is in place.
	if err := atomicfs.ReplaceDir(tmp, final); err != nil {
		return fail(fmt.Errorf("writing the delta: %w", err))
	}
	return res, nil
}

// copyChecked copies src to dst (directories made), checking size and
// sha256 against f, with f's mode.
func copyChecked(src, dst string, f manifest.FileEntry) error {
	in, err := regular.Open(src)
	if err != nil {
		return fmt.Errorf("reading %q: %w", src, err)
	}
	defer in.Close()
	return writeChecked(in, dst, f, src)
}

// writeChecked writes r to dst, checking size and sha256 against f.
func writeChecked(r io.Reader, dst string, f manifest.FileEntry, from string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	mode := os.FileMode(0o644)
	if f.Executable() {
		mode = 0o755
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, f.Size+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, mode) // whatever the umask
	}
	if err != nil {
		return fmt.Errorf("copying %q: %w", from, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.SHA256 {
		return fmt.Errorf("%s: %d bytes with sha256 %s, bundle.json records %d bytes with sha256 %s", from, n, got, f.Size, f.SHA256)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
