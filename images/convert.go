package images

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var ociFor = map[types.MediaType]types.MediaType{
	types.DockerManifestSchema2:   types.OCIManifestSchema1,
	types.DockerManifestList:      types.OCIImageIndex,
	types.DockerConfigJSON:        types.OCIConfigJSON,
	types.DockerLayer:             types.OCILayer,
	types.DockerForeignLayer:      types.OCIRestrictedLayer,
	types.DockerUncompressedLayer: types.OCIUncompressedLayer,
}

func toOCI(mt types.MediaType) types.MediaType {
	if o, ok := ociFor[mt]; ok {
		return o
	}
	return mt
}

// convertOCI rewrites an artifact's Docker media types to OCI ones. An
// artifact that has none is returned as it is.
func convertOCI(a artifact) (artifact, error) {
	if a.idx != nil {
		idx, _, err := convertIndex(a.idx)
		return artifact{idx: idx, preselected: a.preselected}, err
	}
	img, _, err := convertImage(a.img)
	return artifact{img: img, preselected: a.preselected}, err
}

func convertImage(img v1.Image) (v1.Image, bool, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, false, fmt.Errorf("reading manifest: %w", err)
	}
	if m.MediaType != types.DockerManifestSchema2 {
		return img, false, nil
	}
	m = m.DeepCopy()
	m.MediaType = types.OCIManifestSchema1
	m.Config.MediaType = toOCI(m.Config.MediaType)
	for i := range m.Layers {
		m.Layers[i].MediaType = toOCI(m.Layers[i].MediaType)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, false, err
	}
	h, n, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, false, err
	}
	return &ociImage{Image: img, raw: raw, m: m, digest: h, size: n}, true, nil
}

type ociImage struct {
	v1.Image
	raw    []byte
	m      *v1.Manifest
	digest v1.Hash
	size   int64
}

func (i *ociImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *ociImage) Manifest() (*v1.Manifest, error)     { return i.m.DeepCopy(), nil }
func (i *ociImage) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (i *ociImage) Digest() (v1.Hash, error)            { return i.digest, nil }
func (i *ociImage) Size() (int64, error)                { return i.size, nil }

func convertIndex(idx v1.ImageIndex) (v1.ImageIndex, bool, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, false, fmt.Errorf("reading index: %w", err)
	}
	im = im.DeepCopy()
	changed := im.MediaType == types.DockerManifestList
	im.MediaType = types.OCIImageIndex
	images := map[v1.Hash]v1.Image{}
	indexes := map[v1.Hash]v1.ImageIndex{}
	for i, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, false, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			c, ch, err := convertIndex(child)
			if err != nil {
				return nil, false, err
			}
			if ch {
				changed = true
				if im.Manifests[i], err = describe(c); err != nil {
					return nil, false, err
				}
				im.Manifests[i].Platform, im.Manifests[i].Annotations = d.Platform, d.Annotations
				indexes[im.Manifests[i].Digest] = c
			}
		case d.MediaType.IsImage():
			child, err := idx.Image(d.Digest)
			if err != nil {
				return nil, false, fmt.Errorf("manifest %s: %w", d.Digest, err)
			}
			c, ch, err := convertImage(child)
			if err != nil {
				return nil, false, err
			}
			if ch {
				changed = true
				if im.Manifests[i], err = describe(c); err != nil {
					return nil, false, err
				}
				im.Manifests[i].Platform, im.Manifests[i].Annotations = d.Platform, d.Annotations
				images[im.Manifests[i].Digest] = c
			}
		}
	}
	if !changed {
		return idx, false, nil
	}
	raw, err := json.Marshal(im)
	if err != nil {
		return nil, false, err
	}
	h, n, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, false, err
	}
	return &ociIndex{base: idx, raw: raw, im: im, digest: h, size: n, images: images, indexes: indexes}, true, nil
}

type describable interface {
	Digest() (v1.Hash, error)
	Size() (int64, error)
	MediaType() (types.MediaType, error)
}

func describe(d describable) (v1.Descriptor, error) {
	h, err := d.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	n, err := d.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := d.MediaType()
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, err
}

type ociIndex struct {
	base    v1.ImageIndex
	raw     []byte
	im      *v1.IndexManifest
	digest  v1.Hash
	size    int64
	images  map[v1.Hash]v1.Image
	indexes map[v1.Hash]v1.ImageIndex
}

func (i *ociIndex) RawManifest() ([]byte, error)              { return i.raw, nil }
func (i *ociIndex) IndexManifest() (*v1.IndexManifest, error) { return i.im.DeepCopy(), nil }
func (i *ociIndex) MediaType() (types.MediaType, error)       { return types.OCIImageIndex, nil }
func (i *ociIndex) Digest() (v1.Hash, error)                  { return i.digest, nil }
func (i *ociIndex) Size() (int64, error)                      { return i.size, nil }

func (i *ociIndex) Image(h v1.Hash) (v1.Image, error) {
	if img, ok := i.images[h]; ok {
		return img, nil
	}
	return i.base.Image(h)
}

func (i *ociIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	if idx, ok := i.indexes[h]; ok {
		return idx, nil
	}
	return i.base.ImageIndex(h)
}
