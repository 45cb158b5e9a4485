package images

import (
	"context"
	"fmt"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/regular"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// artifact is an image or an index, opened from a source.
type artifact struct {
	img v1.Image
	idx v1.ImageIndex
	// preselected is true when platforms were already applied (an entry
	// reused from the previous layout).
	preselected bool
}

func (a artifact) digest() (v1.Hash, error) {
	if a.idx != nil {
		return a.idx.Digest()
	}
	return a.img.Digest()
}

func (a artifact) mediaType() (types.MediaType, error) {
	if a.idx != nil {
		return a.idx.MediaType()
	}
	return a.img.MediaType()
}

// openEntry opens the entry d of a layout graph LoadDir read.
func openEntry(g *layout.Graph, d v1.Descriptor) (artifact, error) {
	img, idx, err := g.Open(d)
	return artifact{img: img, idx: idx}, err
}

// open opens a source and returns the artifact with the digest the
// reference resolves to.
func open(ctx context.Context, src Source, opts Options) (artifact, v1.Hash, error) {
	switch src.Kind {
	case Registry:
		desc, err := remote.Get(src.Ref, opts.Remote(ctx)...)
		if err != nil {
			return artifact{}, v1.Hash{}, fmt.Errorf("fetching manifest: %w", err)
		}
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err != nil {
				return artifact{}, v1.Hash{}, err
			}
			return artifact{idx: newBoundedIndex(idx)}, desc.Digest, nil
		}
		if !desc.MediaType.IsImage() {
			return artifact{}, v1.Hash{}, fmt.Errorf("unsupported manifest media type %q", desc.MediaType)
		}
		img, err := desc.Image()
		if err != nil {
			return artifact{}, v1.Hash{}, err
		}
		return artifact{img: boundedImage{img}}, desc.Digest, nil
	case DockerArchive:
		if err := regular.Check(src.Path); err != nil {
			return artifact{}, v1.Hash{}, fmt.Errorf("reading docker archive: %w", err)
		}
		if err := checkTarJSON(src.Path); err != nil {
			return artifact{}, v1.Hash{}, fmt.Errorf("reading docker archive %q: %w", src.Path, err)
		}
		tb, err := tarball.ImageFromPath(src.Path, nil)
		img := boundedImage{tb}
		if err != nil {
			if terr := checkTar(src.Path); terr != nil {
				err = terr
			}
			return artifact{}, v1.Hash{}, fmt.Errorf("reading docker archive %q: %w", src.Path, err)
		}
		h, err := img.Digest()
		if err != nil {
			return artifact{}, v1.Hash{}, fmt.Errorf("reading docker archive %q: %w", src.Path, err)
		}
		return artifact{img: img}, h, nil
	case OCILayout:
		return openLayout(src.Path, src.Tag)
	}
	return artifact{}, v1.Hash{}, fmt.Errorf("unknown source kind %v", src.Kind)
}

// openLayout opens the image of the layout at dir named tag (or its only
// one). index.json and every manifest and index are read bounded and
// checked against their digests before anything is used (layout.LoadDir).
func openLayout(dir, tag string) (artifact, v1.Hash, error) {
	g, err := layout.LoadDir(dir)
	if err != nil {
		return artifact{}, v1.Hash{}, err
	}
	var found []v1.Descriptor
	var names []string
	for _, d := range g.Entries {
		n := d.Annotations[layout.AnnotationRefName]
		names = append(names, n)
		if tag == "" || n == tag {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0 && tag != "":
		return artifact{}, v1.Hash{}, fmt.Errorf("OCI layout %q has no image named %q (it has %q)", dir, tag, names)
	case len(found) == 0:
		return artifact{}, v1.Hash{}, fmt.Errorf("OCI layout %q holds no image", dir)
	case len(found) > 1 && tag == "":
		return artifact{}, v1.Hash{}, fmt.Errorf("OCI layout %q holds %d images (%q): name one with oci-layout:DIR:NAME", dir, len(found), names)
	case len(found) > 1:
		return artifact{}, v1.Hash{}, fmt.Errorf("OCI layout %q has %d images named %q", dir, len(found), tag)
	}
	d := found[0]
	a, err := openEntry(g, d)
	if err != nil {
		return artifact{}, v1.Hash{}, fmt.Errorf("reading OCI layout %q: %w", dir, err)
	}
	return a, d.Digest, nil
}
