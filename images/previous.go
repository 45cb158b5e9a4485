package images

import (
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/images/layout"
)

// previous is the layout being replaced, used as a cache: its blobs are
// copied instead of fetched, and offline builds take pinned registry images
// from it.
type previous struct {
	dir     string
	blobDir string
	g       *layout.Graph // nil when there is no readable previous layout
}

func openPrevious(dir string) previous {
	g, err := layout.LoadDir(dir)
	if err != nil {
		return previous{}
	}
	return previous{dir: dir, blobDir: filepath.Join(dir, "blobs", "sha256"), g: g}
}

// lookup finds the entry mirrored earlier from the same reference, pinned
// digest and platforms.
func (p *previous) lookup(spec Spec, mt layout.MediaTypes) (artifact, bool) {
	if p.g == nil || spec.Digest == "" {
		return artifact{}, false
	}
	for _, d := range p.g.Entries {
		a := d.Annotations
		if a[layout.AnnotationSource] != spec.Ref || a[layout.AnnotationSourceDigest] != spec.Digest || a[layout.AnnotationPlatforms] != strings.Join(spec.Platforms, ",") ||
			(a[layout.AnnotationMediaTypes] == string(layout.OCI)) != (mt == layout.OCI) {
			continue
		}
		art, err := openEntry(p.g, d)
		if err != nil {
			return artifact{}, false
		}
		art.preselected = true
		return art, true
	}
	return artifact{}, false
}
