package inputfacts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/images/ovf"
	"github.com/bdebundle/bundle/internal/regular"
)

// Files returns Facts holding Globs, Paths and Disks for d; the other
// fields are empty maps for the caller to fill.
func Files(d *sitedef.Definition) *compiler.Facts {
	facts := &compiler.Facts{Globs: map[string]compiler.GlobFact{}, Paths: map[string]compiler.PathFact{}, Disks: map[string]compiler.DiskFact{},
		Packages: map[string][]compiler.PackageFact{}, Baselines: map[string][]compiler.PackageFact{},
		Images: map[string]compiler.ImageFact{}, Manifests: map[string][]byte{}}
	globs, paths, disks := compiler.Wanted(d)
	for _, g := range globs {
		facts.Globs[g.Pattern] = expand(g.Pattern, g.Ext)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			pf := compiler.PathFact{Exists: true, Dir: fi.IsDir(), Size: fi.Size()}
			if !fi.IsDir() && !fi.Mode().IsRegular() {
				pf.Special = regular.Kind(fi.Mode())
			}
			facts.Paths[p] = pf
		}
	}
	for _, p := range disks {
		if fi := facts.Paths[p]; !fi.Exists || fi.Dir || fi.Special != "" {
			continue // the compiler reports it missing
		}
		info, err := ovf.ProbeVMDK(p)
		if err != nil {
			facts.Disks[p] = compiler.DiskFact{Err: err.Error()}
			continue
		}
		facts.Disks[p] = compiler.DiskFact{Capacity: info.Capacity()}
	}
	return facts
}

// expand resolves a file, directory or glob into the sorted files it names
// (directories walked for files ending in ext), with their sizes. Symbolic
// links are followed, to files and directories alike (a directory reached
// twice is walked once); anything but a regular file or a directory is an
// error naming it.
func expand(pattern, ext string) compiler.GlobFact {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return compiler.GlobFact{Err: fmt.Sprintf("bad pattern %q: %v", pattern, err)}
	}
	var files []compiler.FileFact
	walked := map[string]bool{}
	for _, m := range matches {
		if err := expandPath(m, ext, true, walked, &files); err != nil {
			return compiler.GlobFact{Err: err.Error()}
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	g := compiler.GlobFact{Files: files}
	if len(files) == 0 {
		g.Missing, g.Siblings = missing(pattern)
	}
	return g
}

// missing returns the first path along the pattern's leading part without
// glob characters that does not exist, and the names in its parent
// directory; "" when that whole part exists.
func missing(pattern string) (string, []string) {
	static := pattern
	segs := strings.Split(filepath.ToSlash(pattern), "/")
	for i, s := range segs {
		if strings.ContainsAny(s, "*?[") {
			static = filepath.FromSlash(strings.Join(segs[:i], "/"))
			break
		}
	}
	if static == "" {
		return "", nil
	}
	if _, err := os.Lstat(static); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	miss := static
	for {
		parent := filepath.Dir(miss)
		if parent == miss {
			return "", nil
		}
		if _, err := os.Stat(parent); err == nil {
			break
		}
		miss = parent
	}
	var names []string
	if ents, err := os.ReadDir(filepath.Dir(miss)); err == nil {
		for _, e := range ents {
			names = append(names, e.Name())
		}
	}
	return miss, names
}

// expandPath adds path when it is a regular file (named, or ending in ext),
// or the files below it when it is a directory.
func expandPath(path, ext string, named bool, walked map[string]bool, files *[]compiler.FileFact) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode().IsRegular():
		if named || strings.HasSuffix(path, ext) {
			*files = append(*files, compiler.FileFact{Path: path, Size: fi.Size()})
		}
		return nil
	case fi.IsDir():
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return err
		}
		if walked[real] {
			return nil
		}
		walked[real] = true
		ents, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ext) && !e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
				continue
			}
			if err := expandPath(filepath.Join(path, e.Name()), ext, false, walked, files); err != nil {
				return err
			}
		}
		return nil
	case !named && !strings.HasSuffix(path, ext):
		return nil
	}
	return fmt.Errorf("%q is a %s, not a regular file", path, regular.Kind(fi.Mode()))
}
