package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
)

// ErrNotVerified is returned (with the Report) when the delta, or it
// against the base, does not verify: nothing was written.
var ErrNotVerified = errors.New("the delta does not verify against the base")

// Merge writes the full new bundle directory outDir/<name>-<version> from
// the base (a directory, archive or volume set: it must hold its files) and
// the delta at deltaDir. Verify runs first, with the base: nothing is
// written unless the delta is complete and authentic and the base is the
// one it names and verifies. Files are written into a temporary directory
// inside outDir, each checked against bundle.json as it is written (an
// archive or volume set base is read once, as a stream), the result is
// verified as a bundle (verify.Verify) and renamed into place. An existing
// outDir/<name>-<version> is never replaced.
func Merge(ctx context.Context, base *Base, deltaDir, outDir string, key []byte) (string, *Report, error) {
	if !base.HasFiles() {
		return "", nil, fmt.Errorf("merging: the base %q is a bundle.json alone; merge needs the base's files (its directory, archive or volume set)", base.Path)
	}
	rep, err := Verify(ctx, deltaDir, base, key)
	if err != nil {
		return "", nil, err
	}
	if !rep.OK() {
		return "", rep, ErrNotVerified
	}
	m, dm := rep.manifest, rep.delta
	final := filepath.Join(outDir, m.Dir())
	if exists(final) {
		return "", rep, fmt.Errorf("merging: %q exists; it is not replaced", final)
	}
	made := missingDirs(outDir)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", rep, fmt.Errorf("merging: %w", err)
	}
	stage, err := os.MkdirTemp(outDir, "."+m.Dir()+".merge-")
	if err != nil {
		removeEmpty(made)
		return "", rep, fmt.Errorf("merging: %w", err)
	}
	fail := func(err error) (string, *Report, error) {
		os.RemoveAll(stage)
		removeEmpty(made) // a failed merge leaves no directory it made
		return "", rep, err
	}
	root := filepath.Join(stage, m.Dir())
	if err := os.Mkdir(root, 0o755); err != nil {
		return fail(fmt.Errorf("merging: %w", err))
	}
	entries := map[string]manifest.FileEntry{}
	for _, f := range m.Files {
		entries[f.Path] = f
	}
	for _, f := range dm.Files {
		if err := copyChecked(filepath.Join(deltaDir, filepath.FromSlash(f.Path)), filepath.Join(root, filepath.FromSlash(f.Path)), entries[f.Path]); err != nil {
			return fail(err)
		}
	}
	for _, meta := range []string{manifest.FileName, manifest.SumsName, manifest.SignatureName} {
		b, err := regular.ReadFile(filepath.Join(deltaDir, meta), manifest.MaxMetaSize)
		if errors.Is(err, os.ErrNotExist) && meta == manifest.SignatureName {
			continue
		}
		if err != nil {
			return fail(fmt.Errorf("reading %q: %w", filepath.Join(deltaDir, meta), err))
		}
		if err := os.WriteFile(filepath.Join(root, meta), b, 0o644); err != nil {
			return fail(fmt.Errorf("merging: %w", err))
		}
	}
	// Base path → the new paths that take its bytes.
	need := map[string][]string{}
	for _, f := range dm.FromBase {
		need[f.BasePath] = append(need[f.BasePath], f.Path)
	}
	take := func(rel string, r io.Reader) error {
		paths := need[rel]
		if len(paths) == 0 {
			return nil
		}
		first := filepath.Join(root, filepath.FromSlash(paths[0]))
		if err := writeChecked(r, first, entries[paths[0]], filepath.Join(base.Path, rel)); err != nil {
			return err
		}
		for _, p := range paths[1:] {
			if err := copyChecked(first, filepath.Join(root, filepath.FromSlash(p)), entries[p]); err != nil {
				return err
			}
		}
		delete(need, rel)
		return nil
	}
	if base.Kind == "dir" {
		for _, rel := range sortedKeys(need) {
			f, err := regular.Open(filepath.Join(base.Path, filepath.FromSlash(rel)))
			if err != nil {
				return fail(fmt.Errorf("reading base %q: %w", base.Path, err))
			}
			err = take(rel, f)
			f.Close()
			if err != nil {
				return fail(err)
			}
		}
	} else if err := archive.WalkFiles(ctx, base.Path, func(rel string, _ int64, r io.Reader) error { return take(rel, r) }); err != nil {
		return fail(fmt.Errorf("reading base %q: %w", base.Path, err))
	}
	for _, rel := range sortedKeys(need) {
		return fail(fmt.Errorf("merging: the base %q has no %s", base.Path, rel))
	}
	vr, err := verify.Verify(ctx, root, verify.Options{Key: key})
	if err != nil {
		return fail(fmt.Errorf("verifying the merged bundle: %w", err))
	}
	if !vr.OK() {
		rep.Problems = append(rep.Problems, vr.Problems...)
		return fail(fmt.Errorf("the merged bundle does not verify: %s: %s", vr.Problems[0].Path, vr.Problems[0].Problem))
	}
	if err := atomicfs.SyncTree(root); err != nil {
		return fail(fmt.Errorf("merging: %w", err))
	}
	if err := atomicfs.RenameNoReplace(root, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fail(fmt.Errorf("merging: %q exists; it is not replaced", final))
		}
		return fail(fmt.Errorf("merging: %w", err))
	}
	os.RemoveAll(stage)
	return final, rep, nil
}

// missingDirs lists dir and those of its parents that do not exist yet,
// innermost first: what MkdirAll(dir) will make.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, os.ErrNotExist) {
			return out
		}
		out = append(out, d)
		if filepath.Dir(d) == d {
			return out
		}
	}
}

// removeEmpty removes the directories a failed merge made, innermost
// first; os.Remove leaves any that something else has filled meanwhile.
func removeEmpty(dirs []string) {
	for _, d := range dirs {
		if os.Remove(d) != nil {
			return
		}
	}
}
