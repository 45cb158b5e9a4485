package images

import (
	"bytes"
	"fmt"
	"io"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func bytesJob(what string, h v1.Hash, b []byte) layout.Blob {
	return layout.Blob{Digest: h, Size: int64(len(b)), What: what, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}}
}

// collect lists the blobs of an artifact: manifests, configs and layers,
// each once, top manifest first. network marks them as read from a
// registry: their transient failures are worth another try.
func collect(a artifact, network bool) ([]layout.Blob, error) {
	var jobs []layout.Blob
	seen := map[v1.Hash]bool{}
	add := func(j layout.Blob) {
		if network {
			j.Retriable = registry.Transient
		}
		if !seen[j.Digest] {
			seen[j.Digest] = true
			jobs = append(jobs, j)
		}
	}
	var walkImage func(img v1.Image) error
	var walkIndex func(idx v1.ImageIndex, depth int) error
	onPath := map[v1.Hash]bool{}
	walkImage = func(img v1.Image) error {
		raw, err := img.RawManifest()
		if err != nil {
			return fmt.Errorf("reading manifest: %w", err)
		}
		h, err := img.Digest()
		if err != nil {
			return err
		}
		add(bytesJob("manifest", h, raw))
		mf, err := img.Manifest()
		if err != nil {
			return fmt.Errorf("parsing manifest %s: %w", h, err)
		}
		if err := layout.CheckConfigSize(mf); err != nil {
			return fmt.Errorf("manifest %s: %w", h, err)
		}
		add(layout.Blob{Digest: mf.Config.Digest, Size: mf.Config.Size, What: "config", Open: func() (io.ReadCloser, error) {
			b, err := img.RawConfigFile()
			if err != nil {
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		}})
		for _, l := range mf.Layers {
			add(layout.Blob{Digest: l.Digest, Size: l.Size, What: "layer", Open: func() (io.ReadCloser, error) {
				layer, err := img.LayerByDigest(l.Digest)
				if err != nil {
					return nil, err
				}
				return layer.Compressed()
			}})
		}
		return nil
	}
	walkIndex = func(idx v1.ImageIndex, depth int) error {
		raw, err := idx.RawManifest()
		if err != nil {
			return fmt.Errorf("reading index: %w", err)
		}
		h, err := idx.Digest()
		if err != nil {
			return err
		}
		if onPath[h] {
			return fmt.Errorf("%w: index %s names itself", layout.ErrTooDeep, h)
		}
		if depth > layout.MaxIndexDepth {
			return fmt.Errorf("%w: index %s is below %d indexes (the limit is %d)", layout.ErrTooDeep, h, depth, layout.MaxIndexDepth)
		}
		onPath[h] = true
		defer delete(onPath, h)
		add(bytesJob("index", h, raw))
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("parsing index %s: %w", h, err)
		}
		for _, d := range im.Manifests {
			switch {
			case d.MediaType.IsIndex():
				child, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return fmt.Errorf("index %s: %w", d.Digest, err)
				}
				if err := walkIndex(child, depth+1); err != nil {
					return err
				}
			case d.MediaType.IsImage():
				child, err := idx.Image(d.Digest)
				if err != nil {
					return fmt.Errorf("manifest %s: %w", d.Digest, err)
				}
				if err := walkImage(child); err != nil {
					return err
				}
			default:
				return fmt.Errorf("index %s: entry %s has unsupported media type %q", h, d.Digest, d.MediaType)
			}
		}
		return nil
	}
	var err error
	if a.idx != nil {
		err = walkIndex(a.idx, 0)
	} else {
		err = walkImage(a.img)
	}
	return jobs, err
}
