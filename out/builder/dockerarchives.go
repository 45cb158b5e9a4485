package builder

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/dockersave"
	"github.com/bdebundle/bundle/out/manifest"
)

// writeDockerArchives writes the plan's docker load archives from the image
// layout the images step wrote, and the cookbook attributes file with each
// archive's sha256 and image id (the docker_images recipe checks both).
func (b *builder) writeDockerArchives(ctx context.Context) error {
	dp := b.plan.DockerArchives
	if dp == nil || len(dp.Images) == 0 {
		return nil
	}
	if b.opts.Images == nil || len(b.plan.Images) == 0 {
		return fmt.Errorf("writing docker archives: the plan has no image layout to write them from")
	}
	layout := b.abs(b.imageLayout())
	written := map[string]compiler.DockerArchive{}
	for _, ap := range dp.Images {
		if err := manifest.CheckRelPath(ap.Path); err != nil {
			return fmt.Errorf("writing docker archives: %w", err)
		}
		dst := b.abs(ap.Path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("creating %q: %w", filepath.Dir(dst), err)
		}
		f, err := os.Create(dst)
		if err != nil {
			return fmt.Errorf("writing %q: %w", dst, err)
		}
		res, err := images.WriteDockerArchive(ctx, f, layout, ap.Name, ap.Digest, ap.Platform,
			dockersave.Options{Repository: ap.Repository, Tag: ap.Tag, ModTime: time.Unix(b.plan.Epoch, 0)})
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing %q: %w", dst, cerr)
		}
		if err != nil {
			return fmt.Errorf("writing docker archives: %w", err)
		}
		written[ap.Name] = compiler.DockerArchive{SHA256: res.SHA256, ImageID: res.ID, Size: res.Size}
	}
	data, err := compiler.DockerArchivesAttributes(b.plan, written)
	if err != nil {
		return fmt.Errorf("writing docker archives: %w", err)
	}
	if err := manifest.CheckRelPath(dp.Attributes); err != nil {
		return fmt.Errorf("writing docker archives: %w", err)
	}
	dst := b.abs(dp.Attributes)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", filepath.Dir(dst), err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		return fmt.Errorf("writing %q: %w", dst, err)
	}
	return nil
}
