package images

import (
	"sync"

	"github.com/bdebundle/bundle/images/layout"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// boundedImage is an image whose config is read only when its descriptor
// is within layout.MaxConfigSize (go-containerregistry reads it into memory as
// long as the descriptor says).
type boundedImage struct{ v1.Image }

func (b boundedImage) check() error {
	m, err := b.Image.Manifest()
	if err != nil {
		return err
	}
	return layout.CheckConfigSize(m)
}

func (b boundedImage) RawConfigFile() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	return b.Image.RawConfigFile()
}

func (b boundedImage) ConfigFile() (*v1.ConfigFile, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	return b.Image.ConfigFile()
}

func (b boundedImage) ConfigName() (v1.Hash, error) {
	if err := b.check(); err != nil {
		return v1.Hash{}, err
	}
	return b.Image.ConfigName()
}

func (b boundedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	m, err := b.Image.Manifest()
	if err != nil {
		return nil, err
	}
	if h == m.Config.Digest {
		if err := layout.CheckConfigSize(m); err != nil {
			return nil, err
		}
	}
	return b.Image.LayerByDigest(h)
}

// boundedIndex gives its images as boundedImages. Each child is opened
// once and kept: a registry is asked for a child manifest once however
// often the index is walked (platform selection, conversion, the blobs).
type boundedIndex struct {
	idx     v1.ImageIndex
	mu      sync.Mutex
	images  map[v1.Hash]v1.Image
	indexes map[v1.Hash]v1.ImageIndex
}

func newBoundedIndex(idx v1.ImageIndex) *boundedIndex {
	return &boundedIndex{idx: idx, images: map[v1.Hash]v1.Image{}, indexes: map[v1.Hash]v1.ImageIndex{}}
}

func (b *boundedIndex) MediaType() (types.MediaType, error)       { return b.idx.MediaType() }
func (b *boundedIndex) Digest() (v1.Hash, error)                  { return b.idx.Digest() }
func (b *boundedIndex) Size() (int64, error)                      { return b.idx.Size() }
func (b *boundedIndex) IndexManifest() (*v1.IndexManifest, error) { return b.idx.IndexManifest() }
func (b *boundedIndex) RawManifest() ([]byte, error)              { return b.idx.RawManifest() }

func (b *boundedIndex) Image(h v1.Hash) (v1.Image, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if img, ok := b.images[h]; ok {
		return img, nil
	}
	img, err := b.idx.Image(h)
	if err != nil {
		return nil, err
	}
	b.images[h] = boundedImage{img}
	return b.images[h], nil
}

func (b *boundedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if idx, ok := b.indexes[h]; ok {
		return idx, nil
	}
	idx, err := b.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	b.indexes[h] = newBoundedIndex(idx)
	return b.indexes[h], nil
}
