package images

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bdebundle/bundle/images/dockersave"
	"github.com/bdebundle/bundle/images/layout"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WriteDockerArchive writes the image called name in the OCI layout at
// layoutDir, for platform (os/arch), as a legacy `docker save` archive to w
// (package dockersave). digest is the image's stored digest (the compiler's
// image fact, what the app's tag names): the layout entry must be it. An
// index entry gives its manifest for platform; a single image must be of
// that platform, or name none.
func WriteDockerArchive(ctx context.Context, w io.Writer, layoutDir, name, digest, platform string, opts dockersave.Options) (dockersave.Result, error) {
	var res dockersave.Result
	img, err := dockerLayoutImage(layoutDir, name, digest, platform)
	if err != nil {
		return res, err
	}
	res, err = dockersave.Write(ctx, w, img, opts)
	if err != nil {
		return res, fmt.Errorf("image %q as a docker load archive: %w", name, err)
	}
	return res, nil
}

// dockerLayoutImage finds the image the archive is written from, reading
// the layout through the bounded loader (layout.LoadDir).
func dockerLayoutImage(layoutDir, name, digest, platform string) (v1.Image, error) {
	osName, arch, ok := strings.Cut(platform, "/")
	if !ok {
		return nil, fmt.Errorf("platform %q is not os/arch", platform)
	}
	arch, variant, _ := strings.Cut(arch, "/")
	g, err := layout.LoadDir(layoutDir)
	if err != nil {
		return nil, err
	}
	var entry *v1.Descriptor
	for i, d := range g.Entries {
		if d.Annotations[layout.AnnotationName] == name {
			entry = &g.Entries[i]
		}
	}
	if entry == nil {
		return nil, fmt.Errorf("image %q is not in the OCI layout %q", name, layoutDir)
	}
	if entry.Digest.String() != digest {
		return nil, fmt.Errorf("image %q: the layout holds %s, but the apps name %s", name, entry.Digest, digest)
	}
	a, err := openEntry(g, *entry)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", name, err)
	}
	match := func(pl *v1.Platform) bool {
		return pl != nil && pl.OS == osName && pl.Architecture == arch && (variant == "" || pl.Variant == variant)
	}
	if a.idx != nil {
		im, err := a.idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("image %q: reading its index: %w", name, err)
		}
		for _, d := range im.Manifests {
			if d.MediaType.IsImage() && match(d.Platform) {
				img, err := a.idx.Image(d.Digest)
				if err != nil {
					return nil, fmt.Errorf("image %q %s: %w", name, platform, err)
				}
				return img, nil
			}
		}
		return nil, fmt.Errorf("image %q has no %s image", name, platform)
	}
	img := a.img
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %q: reading its config: %w", name, err)
	}
	if cf.OS == "" && cf.Architecture == "" {
		// No platform stated (Docker 1.3 reads none either).
		return img, nil
	}
	if pl := cf.Platform(); !match(pl) {
		return nil, fmt.Errorf("image %q is %s/%s, not %s", name, cf.OS, cf.Architecture, platform)
	}
	return img, nil
}
