package delta

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
)

// Report is what Verify found.
type Report struct {
	Path          string           `json:"path"`
	Bundle        Ref              `json:"bundle"`
	Base          Ref              `json:"base"`
	BaseChecked   string           `json:"base_checked"` // "", "manifest" (bundle.json only) or "files"
	Carried       int              `json:"files_carried"`
	CarriedBytes  int64            `json:"bytes_carried"`
	FromBase      int              `json:"files_from_base"`
	FromBaseBytes int64            `json:"bytes_from_base"`
	Signed        bool             `json:"signed"`
	SignedBy      string           `json:"signed_by,omitempty"`
	Problems      []verify.Problem `json:"problems"`

	manifest *manifest.Manifest
	delta    *Manifest
}

// OK reports whether every check passed.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(p, format string, args ...any) {
	r.Problems = append(r.Problems, verify.Problem{Path: p, Problem: fmt.Sprintf(format, args...)})
}

// Verify checks the delta at dir. Alone it checks what it can: delta.json
// and bundle.json agree (the bundle's digest, every file either carried or
// taken from the base, with the same size and sha256), SHA256SUMS, with
// key the signature of bundle.json, and every carried file's size, sha256
// and mode, with no file the delta does not list. With base it checks the
// whole new release: the base is the one the delta names (its bundle.json
// digest), the base's bundle.json lists each file the delta takes from it
// with that digest, and when the base holds its files, the base verifies
// (verify.Verify: every file's digest; with key its signature).
func Verify(ctx context.Context, dir string, base *Base, key []byte) (*Report, error) {
	rep := &Report{Path: dir, Problems: []verify.Problem{}}
	data, err := regular.ReadFile(filepath.Join(dir, FileName), 16<<20)
	if err != nil {
		return nil, fmt.Errorf("reading delta %q: %w", dir, err)
	}
	dm, err := parse(data)
	if err != nil {
		rep.add(FileName, "%v", err)
		return rep, nil
	}
	rep.delta, rep.Bundle, rep.Base = dm, dm.Bundle, dm.Base
	bj, err := regular.ReadFile(filepath.Join(dir, manifest.FileName), manifest.MaxMetaSize)
	if err != nil {
		rep.add(manifest.FileName, "cannot be read: %v", err)
		return rep, nil
	}
	if got := sha256Hex(bj); got != dm.Bundle.BundleSHA256 {
		rep.add(manifest.FileName, "sha256 is %s, delta.json records %s", got, dm.Bundle.BundleSHA256)
		return rep, nil
	}
	m, err := manifest.Parse(bj)
	if err != nil {
		rep.add(manifest.FileName, "%v", err)
		return rep, nil
	}
	rep.manifest = m
	if m.Name != dm.Bundle.Name || m.Version != dm.Bundle.Version {
		rep.add(FileName, "names %s-%s, bundle.json %s", dm.Bundle.Name, dm.Bundle.Version, m.Dir())
	}
	sig, err := regular.ReadFile(filepath.Join(dir, manifest.SignatureName), manifest.MaxMetaSize)
	rep.Signed = err == nil
	switch {
	case key != nil && !rep.Signed:
		rep.add(manifest.SignatureName, "the bundle is not signed and a key was given")
	case key != nil:
		who, err := manifest.CheckSignature(bj, sig, key, time.Now())
		if err != nil {
			rep.add(manifest.SignatureName, "bad signature: %v", err)
		}
		rep.SignedBy = who
	}
	if sums, err := regular.ReadFile(filepath.Join(dir, manifest.SumsName), manifest.MaxMetaSize); err != nil || string(sums) != string(manifest.Sums(m.Files)) {
		rep.add(manifest.SumsName, "missing or not the sums of bundle.json's files")
	}
	// Every file of bundle.json is carried or taken from the base, once.
	want := map[string]manifest.FileEntry{}
	for _, f := range m.Files {
		want[f.Path] = f
	}
	carried := map[string]File{}
	for _, f := range dm.Files {
		if !rep.claim(want, f.Path, f.Size, f.SHA256, "carried by the delta but not in bundle.json") {
			continue
		}
		carried[f.Path] = f
		rep.Carried++
		rep.CarriedBytes += f.Size
	}
	for _, f := range dm.FromBase {
		if !rep.claim(want, f.Path, f.Size, f.SHA256, "taken from the base twice, or carried too, or not in bundle.json") {
			continue
		}
		rep.FromBase++
		rep.FromBaseBytes += f.Size
	}
	for _, p := range sortedKeys(want) {
		rep.add(p, "in bundle.json but neither carried by the delta nor taken from the base")
	}
	checkCarried(ctx, dir, carried, m, rep)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if base != nil {
		if err := checkBase(ctx, dm, base, key, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// claim takes path off want, bundle.json's files not yet carried or taken
// from the base. A path not in want is reported as notListed and claim
// returns false; a size or sha256 that bundle.json disagrees with is reported
// and the path is still claimed.
func (r *Report) claim(want map[string]manifest.FileEntry, path string, size int64, sum, notListed string) bool {
	e, ok := want[path]
	if !ok {
		r.add(path, "%s", notListed)
		return false
	}
	if e.SHA256 != sum || e.Size != size {
		r.add(path, "delta.json and bundle.json disagree on its size or sha256")
	}
	delete(want, path)
	return true
}

// checkCarried hashes the delta's files and refuses any it does not list.
func checkCarried(ctx context.Context, dir string, carried map[string]File, m *manifest.Manifest, rep *Report) {
	modes := map[string]string{}
	for _, f := range m.Files {
		modes[f.Path] = f.Mode
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if rel == FileName || manifest.IsMetaFile(rel) {
			return nil
		}
		f, ok := carried[rel]
		if !ok {
			rep.add(rel, "in the delta but not listed in delta.json")
			return nil
		}
		seen[rel] = true
		if !d.Type().IsRegular() {
			rep.add(rel, "not a regular file")
			return nil
		}
		fh, err := regular.Open(p)
		if err != nil {
			rep.add(rel, "cannot be read: %v", err)
			return nil
		}
		defer fh.Close()
		h := sha256.New()
		n, err := io.Copy(h, fh)
		if err != nil {
			rep.add(rel, "cannot be read: %v", err)
			return nil
		}
		if got := hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.SHA256 {
			rep.add(rel, "%d bytes with sha256 %s, bundle.json records %d bytes with sha256 %s", n, got, f.Size, f.SHA256)
		}
		if fi, err := fh.Stat(); err == nil && manifest.ModeString(fi.Mode()&0o111 != 0) != modes[rel] {
			rep.add(rel, "mode is %s, bundle.json records %s", manifest.ModeString(fi.Mode()&0o111 != 0), modes[rel])
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		rep.add(".", "reading the delta: %v", err)
	}
	for _, p := range sortedKeys(carried) {
		if !seen[p] {
			rep.add(p, "carried by the delta (delta.json) but missing from it")
		}
	}
}

// checkBase checks the delta against its base.
func checkBase(ctx context.Context, dm *Manifest, base *Base, key []byte, rep *Report) error {
	where := filepath.Base(base.Path)
	if base.Ref != dm.Base {
		rep.add(where, "wrong base: it is %s-%s (bundle.json sha256 %s), the delta was made against %s-%s (sha256 %s)",
			base.Ref.Name, base.Ref.Version, base.Ref.BundleSHA256, dm.Base.Name, dm.Base.Version, dm.Base.BundleSHA256)
		return nil
	}
	rep.BaseChecked = "manifest"
	have := map[string]manifest.FileEntry{}
	for _, f := range base.Manifest.Files {
		have[f.Path] = f
	}
	for _, f := range dm.FromBase {
		if e, ok := have[f.BasePath]; !ok || e.SHA256 != f.SHA256 || e.Size != f.Size {
			rep.add(f.Path, "the base has no %s with sha256 %s", f.BasePath, f.SHA256)
		}
	}
	if !base.HasFiles() {
		return nil
	}
	br, err := verify.Verify(ctx, base.Path, verify.Options{Key: key})
	if err != nil {
		return fmt.Errorf("verifying base %q: %w", base.Path, err)
	}
	for _, p := range br.Problems {
		rep.add(where+": "+p.Path, "%s", p.Problem)
	}
	if br.OK() {
		rep.BaseChecked = "files"
	}
	return nil
}

// exists reports whether p exists (for callers that refuse to replace).
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// BaseFiles returns, for a delta that parsed, the files the new release
// takes from the base: base path → sha256.
func (r *Report) BaseFiles() map[string]string {
	out := map[string]string{}
	if r.delta != nil {
		for _, f := range r.delta.FromBase {
			out[f.BasePath] = f.SHA256
		}
	}
	return out
}
