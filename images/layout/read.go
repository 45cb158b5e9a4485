package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bdebundle/bundle/internal/regular"
)

// Hard caps on what is read into memory from a layout or a registry,
// whatever a descriptor claims: the distribution registry refuses
// manifests over 4 MiB; image configs of real images are kilobytes.
const (
	// MaxManifestSize bounds index.json, manifests and indexes.
	MaxManifestSize = 4 << 20
	// MaxConfigSize bounds image configs.
	MaxConfigSize = 8 << 20
	// MaxIndexDepth bounds how deep indexes may nest (an index of
	// platform images is 1; an index of such indexes 2).
	MaxIndexDepth = 8
	// maxStreamDocs bounds the manifest-like blobs a layout read as a
	// stream keeps in memory until index.json says which it needs.
	maxStreamDocs = 64 << 20
)

// ErrTooLarge is wrapped by errors about a manifest, index or config larger
// than the hard cap (or than its descriptor says).
var ErrTooLarge = errors.New("too large")

// ErrTooDeep is wrapped by errors about indexes nested deeper than
// MaxIndexDepth, or that name themselves.
var ErrTooDeep = errors.New("indexes nested too deep")

// readLayoutBlob reads the blob d of the layout whose blobs/sha256 is
// blobDir into memory: a regular file, no larger than cap and than d.Size,
// hashing to d.Digest.
func readLayoutBlob(blobDir string, d v1.Descriptor, limit int64) ([]byte, error) {
	if d.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("unsupported digest algorithm %q", d.Digest.Algorithm)
	}
	if d.Size < 0 || d.Size > limit {
		return nil, fmt.Errorf("%w: the descriptor says %d bytes, the limit for a %s is %d", ErrTooLarge, d.Size, Kind(d.MediaType), limit)
	}
	p := filepath.Join(blobDir, d.Digest.Hex)
	f, err := regular.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, d.Size+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	if err := CheckBytes(b, d); err != nil {
		return nil, err
	}
	return b, nil
}

// layoutImage is an image of a layout read through the graph: its
// manifest was read bounded and checked against its digest; its config is
// read the same way; its layers are opened as files, bounded by their
// descriptors (the Store, and the sources' verifyBlob, check their digests).
type layoutImage struct {
	blobDir string
	desc    v1.Descriptor
	raw     []byte
	m       *v1.Manifest
}

func newLayoutImage(blobDir string, desc v1.Descriptor, raw []byte) (v1.Image, error) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	return partial.CompressedToImage(&layoutImage{blobDir: blobDir, desc: desc, raw: raw, m: m})
}

func (l *layoutImage) RawManifest() ([]byte, error) { return l.raw, nil }

func (l *layoutImage) MediaType() (types.MediaType, error) {
	if l.m.MediaType != "" {
		return l.m.MediaType, nil
	}
	return l.desc.MediaType, nil
}

func (l *layoutImage) RawConfigFile() ([]byte, error) {
	b, err := readLayoutBlob(l.blobDir, l.m.Config, MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", l.m.Config.Digest, err)
	}
	return b, nil
}

func (l *layoutImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if h == l.m.Config.Digest {
		return &layoutBlob{blobDir: l.blobDir, desc: l.m.Config}, nil
	}
	for _, d := range l.m.Layers {
		if d.Digest == h {
			return &layoutBlob{blobDir: l.blobDir, desc: d}, nil
		}
	}
	return nil, fmt.Errorf("manifest %s has no layer %s", l.desc.Digest, h)
}

// layoutBlob is a layer (or config) file of a layout.
type layoutBlob struct {
	blobDir string
	desc    v1.Descriptor
}

func (b *layoutBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *layoutBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *layoutBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }

// Compressed opens the blob, reading at most one byte more than its
// descriptor says: a longer file is found without reading it all.
func (b *layoutBlob) Compressed() (io.ReadCloser, error) {
	if b.desc.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("unsupported digest algorithm %q", b.desc.Digest.Algorithm)
	}
	f, err := regular.Open(filepath.Join(b.blobDir, b.desc.Digest.Hex))
	if err != nil {
		return nil, err
	}
	return &limitedFile{Reader: io.LimitReader(f, b.desc.Size+1), f: f}, nil
}

type limitedFile struct {
	io.Reader
	f *os.File
}

func (l *limitedFile) Close() error { return l.f.Close() }

// layoutIndex is an index of a layout read through the graph.
type layoutIndex struct {
	g       *Graph
	blobDir string
	desc    v1.Descriptor
	raw     []byte
	im      *v1.IndexManifest
}

func newLayoutIndex(g *Graph, blobDir string, desc v1.Descriptor, raw []byte) (v1.ImageIndex, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", desc.Digest, err)
	}
	return &layoutIndex{g: g, blobDir: blobDir, desc: desc, raw: raw, im: im}, nil
}

func (x *layoutIndex) MediaType() (types.MediaType, error) {
	if x.im.MediaType != "" {
		return x.im.MediaType, nil
	}
	return x.desc.MediaType, nil
}
func (x *layoutIndex) Digest() (v1.Hash, error)                  { return x.desc.Digest, nil }
func (x *layoutIndex) Size() (int64, error)                      { return x.desc.Size, nil }
func (x *layoutIndex) IndexManifest() (*v1.IndexManifest, error) { return x.im.DeepCopy(), nil }
func (x *layoutIndex) RawManifest() ([]byte, error)              { return x.raw, nil }

func (x *layoutIndex) child(h v1.Hash) (v1.Descriptor, []byte, error) {
	for _, d := range x.im.Manifests {
		if d.Digest == h {
			raw, ok := x.g.Docs[h]
			if !ok {
				return d, nil, fmt.Errorf("%s: %s %s was not read", x.g.Where, Kind(d.MediaType), h)
			}
			return d, raw, nil
		}
	}
	return v1.Descriptor{}, nil, fmt.Errorf("index %s has no entry %s", x.desc.Digest, h)
}

func (x *layoutIndex) Image(h v1.Hash) (v1.Image, error) {
	d, raw, err := x.child(h)
	if err != nil {
		return nil, err
	}
	return newLayoutImage(x.blobDir, d, raw)
}

func (x *layoutIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, raw, err := x.child(h)
	if err != nil {
		return nil, err
	}
	return newLayoutIndex(x.g, x.blobDir, d, raw)
}

// Open opens the entry d of a graph LoadDir read: an image or an index
// (the other is nil) whose manifests come from the graph and whose configs
// and layers are read from the layout's files, bounded by their
// descriptors.
func (g *Graph) Open(d v1.Descriptor) (v1.Image, v1.ImageIndex, error) {
	if g.dir == "" {
		return nil, nil, fmt.Errorf("%s: read as a stream, its blobs cannot be opened", g.Where)
	}
	blobDir := filepath.Join(g.dir, "blobs", "sha256")
	raw, ok := g.Docs[d.Digest]
	if !ok {
		return nil, nil, fmt.Errorf("%s: %s %s was not read", g.Where, Kind(d.MediaType), d.Digest)
	}
	switch {
	case d.MediaType.IsIndex():
		idx, err := newLayoutIndex(g, blobDir, d, raw)
		return nil, idx, err
	case d.MediaType.IsImage():
		img, err := newLayoutImage(blobDir, d, raw)
		return img, nil, err
	}
	return nil, nil, fmt.Errorf("%s: entry %s has unsupported media type %q", g.Where, d.Digest, d.MediaType)
}
