package compiler

import (
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/rpmdep"
)

// Facts are what was learned about the inputs before compiling: which files
// the definition's paths and globs name and their sizes, RPM headers, VM disk
// headers, image digests, the bytes of existing files the definition names.
// Compile never reads them itself. A nil *Facts means none were gathered:
// the checks that need them are skipped, no input files are planned, and the
// renderers fall back to what the definition says.
//
// Wanted lists what a gatherer must look at; pipeline is the gatherer.
type Facts struct {
	// Globs holds the files each package pattern matches, by the pattern
	// as Wanted names it (absolute).
	Globs map[string]GlobFact
	// Paths holds what is at each single input path (GPG keys, disks,
	// local image sources), by the absolute path Wanted names.
	Paths map[string]PathFact
	// Disks holds the probed header of each VM disk, by absolute path.
	Disks map[string]DiskFact
	// Packages lists the RPMs of each repo, by repo name (the repo block's
	// label). A repo that is absent was not scanned: its checks are skipped.
	Packages map[string][]PackageFact
	// Baselines holds the packages of each baseline repodata directory, by
	// the directory as written in the distro's baseline block.
	Baselines map[string][]PackageFact
	// Images holds the resolved digest and repository of each image, by image
	// name (the image block's label).
	Images map[string]ImageFact
	// Manifests holds existing BDE distro manifests, by the path as written in
	// a distro's manifest attribute.
	Manifests map[string][]byte
}

// GlobFact is what a file, directory or glob pattern expands to.
type GlobFact struct {
	// Files are the regular files matched (directories are walked for
	// files with the wanted extension), sorted, with their sizes.
	Files []FileFact
	// Err says why the pattern could not be expanded ("" when it could).
	Err string
	// Missing is set when the pattern matched nothing because a path it
	// names does not exist: the pattern's longest leading part without
	// glob characters (a directory or file) that is not there, absolute.
	Missing string
	// Siblings are the names in the nearest existing parent directory of
	// Missing (for a "did you mean"), sorted.
	Siblings []string
}

// FileFact is one input file found on disk.
type FileFact struct {
	Path string
	Size int64
}

// PathFact is what is at a single input path.
type PathFact struct {
	Exists bool
	Dir    bool
	Size   int64
	// Special names what the path is when it is neither a regular file nor
	// a directory ("named pipe", "device"...): such an input is refused.
	Special string
}

// DiskFact is a probed VM disk: its capacity, or why it cannot be used.
type DiskFact struct {
	Capacity int64 // bytes
	Err      string
}

// PackageFact is one RPM's identity and dependencies.
type PackageFact struct {
	rpmdep.NEVRA
	// Provides are the capabilities the package provides (its own name
	// included when its header lists it).
	Provides []rpmdep.Dep
	// Requires are the capabilities it needs.
	Requires []rpmdep.Dep
	// Files are the paths of the files it holds.
	Files []string
}

// ImageFact is a resolved container image.
type ImageFact struct {
	// Digest is the manifest (or index) digest, "sha256:<hex>" or bare hex.
	Digest string
	// Repository is the repository path the site registry serves the image
	// under, like "library/nginx".
	Repository string
	// Platforms are the platforms the stored image provides, os/arch[/variant].
	Platforms []string
}

// provides reports whether the package is named name or provides it.
func (p PackageFact) provides(name string) bool {
	if p.Name == name {
		return true
	}
	for _, pr := range p.Provides {
		if pr.Name == name {
			return true
		}
	}
	return false
}

// Glob is one package pattern to expand: files, directories (walked for
// files ending in Ext) or globs.
type Glob struct {
	Pattern string // absolute
	Ext     string
}

// Wanted lists the inputs of d a gatherer must look at before compiling:
// the package patterns to expand, the single paths to stat, and the VM disks
// to probe (a subset of paths). Every path is absolute.
func Wanted(d *sitedef.Definition) (globs []Glob, paths, disks []string) {
	for _, r := range d.Repos {
		for _, pat := range r.Packages {
			globs = append(globs, Glob{Pattern: InputPath(r.Dir, pat), Ext: ".rpm"})
		}
		for _, k := range r.GPGKeys {
			paths = append(paths, InputPath(r.Dir, k))
		}
	}
	for _, im := range d.Images {
		if p, _, _, ok := localImage(im); ok {
			paths = append(paths, p)
		}
	}
	for _, t := range d.VMTemplates {
		if t.Disk != "" {
			disks = append(disks, InputPath(t.Dir, t.Disk))
		}
		for _, dd := range t.Disks {
			if dd.Path != "" {
				disks = append(disks, InputPath(t.Dir, dd.Path))
			}
		}
	}
	return globs, append(paths, disks...), disks
}

// InputPath is p as written in a block of the file in dir, made absolute.
func InputPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// localImage splits a docker-archive: or oci-layout: reference into the
// absolute path of its source, the ":tag" suffix of an oci-layout and the
// prefix; ok is false for registry references.
func localImage(im *sitedef.Image) (path, tag, prefix string, ok bool) {
	for _, prefix := range []string{"docker-archive:", "oci-layout:"} {
		if !strings.HasPrefix(im.Ref, prefix) {
			continue
		}
		path := strings.TrimPrefix(im.Ref, prefix)
		tag := ""
		if prefix == "oci-layout:" {
			if i := strings.LastIndex(path, ":"); i > 0 && !strings.Contains(path[i:], "/") {
				path, tag = path[:i], path[i:]
			}
		}
		return InputPath(im.Dir, path), tag, prefix, true
	}
	return "", "", "", false
}

// ImageSource is the image's ref with a local source's path made absolute:
// what images.ParseSource reads.
func ImageSource(im *sitedef.Image) string {
	if path, tag, prefix, ok := localImage(im); ok {
		return prefix + path + tag
	}
	return im.Ref
}

// ImagePath is the absolute path of a docker-archive: or oci-layout: image
// source; ok is false for registry references.
func ImagePath(im *sitedef.Image) (path string, ok bool) {
	path, _, _, ok = localImage(im)
	return path, ok
}

// ImageMediaTypes is how the image's manifests are stored: its own
// media_types, else the bundle's image_media_types, else "preserve".
func ImageMediaTypes(d *sitedef.Definition, im *sitedef.Image) string {
	switch {
	case im.MediaTypes != "":
		return im.MediaTypes
	case d.Bundle != nil && d.Bundle.ImageMediaTypes != "":
		return d.Bundle.ImageMediaTypes
	}
	return "preserve"
}
