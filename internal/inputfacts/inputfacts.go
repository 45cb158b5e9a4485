// Package inputfacts gathers the file facts of a definition's inputs before
// compiling: what each package pattern expands to, what is at each single
// input path (GPG keys, disks, local image sources) and each VM disk's
// header. compiler.Wanted says what to look at; this package is the only
// place that globs and stats them (pipeline calls it, and so do the tests
// of packages that compile a plan without the rest of pipeline).
package inputfacts

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/compiler"
	def "github.com/bdebundle/bundle/hcl"
	"github.com/bdebundle/bundle/images/ovf"
)

// Gather returns Facts holding Globs, Paths and Disks for d; the other
// fields are empty maps for the caller to fill.
func Gather(d *def.Definition) *compiler.Facts {
	facts := &compiler.Facts{Globs: map[string]compiler.GlobFact{}, Paths: map[string]compiler.PathFact{}, Disks: map[string]compiler.DiskFact{},
		Packages: map[string][]compiler.PackageFact{}, Baselines: map[string][]compiler.PackageFact{},
		Images: map[string]compiler.ImageFact{}, Manifests: map[string][]byte{}}
	globs, paths, disks := compiler.Wanted(d)
	for _, g := range globs {
		facts.Globs[g.Pattern] = expand(g.Pattern, g.Ext)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			facts.Paths[p] = compiler.PathFact{Exists: true, Dir: fi.IsDir(), Size: fi.Size()}
		}
	}
	for _, p := range disks {
		if fi := facts.Paths[p]; !fi.Exists || fi.Dir {
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
// (directories walked for files ending in ext), with their sizes.
func expand(pattern, ext string) compiler.GlobFact {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return compiler.GlobFact{Err: fmt.Sprintf("bad pattern %q: %v", pattern, err)}
	}
	var files []compiler.FileFact
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			return compiler.GlobFact{Err: err.Error()}
		}
		if !fi.IsDir() {
			files = append(files, compiler.FileFact{Path: m, Size: fi.Size()})
			continue
		}
		err = filepath.WalkDir(m, func(path string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() || !strings.HasSuffix(e.Name(), ext) {
				return nil
			}
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			files = append(files, compiler.FileFact{Path: path, Size: fi.Size()})
			return nil
		})
		if err != nil {
			return compiler.GlobFact{Err: err.Error()}
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return compiler.GlobFact{Files: files}
}
