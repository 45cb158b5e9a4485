package layout

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/regular"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WalkFunc reads an OCI layout as a stream of files, as a tar archive holds
// it: it calls visit for each regular file with its path relative to the
// layout root (index.json, blobs/sha256/<hex>), its size and its content.
// Files outside the layout are not visited. Each call reads the stream
// again from its start.
type WalkFunc func(ctx context.Context, visit func(rel string, size int64, r io.Reader) error) error

// Graph is an OCI layout's index.json with every manifest and index it
// reaches, each read bounded and checked against its digest: what List,
// the sources reading a layout (Open) and a registry push share.
type Graph struct {
	// Where names the layout in errors: OCI layout "DIR", or OCI layout
	// for a stream.
	Where string
	// IndexSHA256 is the sha256 of the index.json bytes read.
	IndexSHA256 string
	// Entries are index.json's entries, in its order.
	Entries []v1.Descriptor
	// Docs holds every manifest and index reached, by digest.
	Docs map[v1.Hash][]byte
	// dir is the layout directory (LoadDir), "" for a stream.
	dir string
}

// LoadDir reads the layout at dir: index.json and every manifest and
// index it reaches, each a regular file bounded by its descriptor and the
// hard cap, and checked against its digest.
func LoadDir(dir string) (*Graph, error) {
	raw, err := regular.ReadFile(filepath.Join(dir, "index.json"), MaxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %q: %w", dir, err)
	}
	g := &Graph{Where: fmt.Sprintf("OCI layout %q", dir), Docs: map[v1.Hash][]byte{}, dir: dir}
	blobDir := filepath.Join(dir, "blobs", "sha256")
	read := func(d v1.Descriptor) ([]byte, error) {
		return readLayoutBlob(blobDir, d, MaxManifestSize)
	}
	if err := g.load(raw, read); err != nil {
		return nil, err
	}
	return g, nil
}

// LoadStream is LoadDir for a layout read as a stream: index.json and
// the small JSON blobs are kept (at most maxStreamDocs bytes) until
// index.json says which it needs.
func LoadStream(ctx context.Context, walk WalkFunc) (*Graph, error) {
	var index []byte
	small := map[v1.Hash][]byte{}
	var kept int64
	err := walk(ctx, func(rel string, size int64, r io.Reader) error {
		if rel == "index.json" {
			b, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
			if err != nil {
				return fmt.Errorf("reading index.json: %w", err)
			}
			if len(b) > MaxManifestSize {
				return fmt.Errorf("index.json: %w: more than %d bytes", ErrTooLarge, MaxManifestSize)
			}
			index = b
			return nil
		}
		hx, ok := strings.CutPrefix(rel, "blobs/sha256/")
		if !ok || size < 0 || size > MaxManifestSize {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		if len(b) > 0 && len(b) <= MaxManifestSize && b[0] == '{' {
			if h, err := v1.NewHash("sha256:" + hx); err == nil {
				if kept += int64(len(b)); kept > maxStreamDocs {
					return fmt.Errorf("%w: the OCI layout holds more than %d bytes of small JSON blobs", ErrTooLarge, maxStreamDocs)
				}
				small[h] = b
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if index == nil {
		return nil, errors.New("the OCI layout has no index.json")
	}
	g := &Graph{Where: "OCI layout", Docs: map[v1.Hash][]byte{}}
	read := func(d v1.Descriptor) ([]byte, error) {
		b, ok := small[d.Digest]
		if !ok {
			if d.Size > MaxManifestSize {
				return nil, fmt.Errorf("%w: the descriptor says %d bytes, the limit for a %s is %d", ErrTooLarge, d.Size, Kind(d.MediaType), MaxManifestSize)
			}
			return nil, os.ErrNotExist
		}
		return b, nil
	}
	if err := g.load(index, read); err != nil {
		return nil, err
	}
	return g, nil
}

// load parses index.json and reads every manifest and index it reaches,
// checking each against its digest. Indexes nest at most MaxIndexDepth
// deep; an index that names itself, or one of the indexes above it, is
// refused (which its digest check already makes impossible).
func (g *Graph) load(index []byte, read func(v1.Descriptor) ([]byte, error)) error {
	sum := sha256.Sum256(index)
	g.IndexSHA256 = hex.EncodeToString(sum[:])
	var im v1.IndexManifest
	if err := json.Unmarshal(index, &im); err != nil {
		return fmt.Errorf("%s: index.json: %w", g.Where, err)
	}
	g.Entries = im.Manifests
	onPath := map[v1.Hash]bool{}
	var walk func(d v1.Descriptor, depth int) error
	walk = func(d v1.Descriptor, depth int) error {
		if onPath[d.Digest] {
			return fmt.Errorf("%s: %w: index %s names itself", g.Where, ErrTooDeep, d.Digest)
		}
		if _, ok := g.Docs[d.Digest]; ok {
			return nil
		}
		if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
			return fmt.Errorf("%s: %s has unsupported media type %q", g.Where, d.Digest, d.MediaType)
		}
		if depth > MaxIndexDepth {
			return fmt.Errorf("%s: %w: %s %s is below %d indexes (the limit is %d)", g.Where, ErrTooDeep, Kind(d.MediaType), d.Digest, depth, MaxIndexDepth)
		}
		b, err := read(d)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", g.Where, Kind(d.MediaType), d.Digest, err)
		}
		if err := CheckBytes(b, d); err != nil {
			return fmt.Errorf("%s: %s %s: %w", g.Where, Kind(d.MediaType), d.Digest, err)
		}
		g.Docs[d.Digest] = b
		if d.MediaType.IsIndex() {
			var child v1.IndexManifest
			if err := json.Unmarshal(b, &child); err != nil {
				return fmt.Errorf("%s: index %s: %w", g.Where, d.Digest, err)
			}
			onPath[d.Digest] = true
			for _, c := range child.Manifests {
				if err := walk(c, depth+1); err != nil {
					return err
				}
			}
			delete(onPath, d.Digest)
		}
		return nil
	}
	for _, d := range g.Entries {
		if err := walk(d, 0); err != nil {
			return err
		}
	}
	return nil
}

func CheckBytes(b []byte, d v1.Descriptor) error {
	if d.Digest.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", d.Digest.Algorithm)
	}
	s := sha256.Sum256(b)
	if got := hex.EncodeToString(s[:]); got != d.Digest.Hex {
		return fmt.Errorf("%w: content hashes to sha256:%s", ErrDigestMismatch, got)
	}
	if int64(len(b)) != d.Size {
		return fmt.Errorf("%w: %d bytes, descriptor says %d", ErrDigestMismatch, len(b), d.Size)
	}
	return nil
}

// Reach lists what the entry d needs: its manifests and indexes (docs),
// each child before the index that names it, and the configs and layers
// they name (blobs), foreign layers included, each digest once, in the
// order reached. A manifest or index that does not parse is skipped and
// the first such error returned with everything else reached: a push
// refuses the entry, a listing counts what it can.
func (g *Graph) Reach(d v1.Descriptor) (docs, blobs []v1.Descriptor, err error) {
	seen := map[v1.Hash]bool{}
	var walk func(d v1.Descriptor)
	walk = func(d v1.Descriptor) {
		if seen[d.Digest] {
			return
		}
		seen[d.Digest] = true
		b := g.Docs[d.Digest]
		if d.MediaType.IsIndex() {
			var im v1.IndexManifest
			if perr := json.Unmarshal(b, &im); perr != nil {
				err = cmp.Or(err, fmt.Errorf("index %s: %w", d.Digest, perr))
			} else {
				for _, c := range im.Manifests {
					walk(c)
				}
			}
		} else {
			var m v1.Manifest
			if perr := json.Unmarshal(b, &m); perr != nil {
				err = cmp.Or(err, fmt.Errorf("manifest %s: %w", d.Digest, perr))
			} else {
				for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
					if !seen[l.Digest] {
						seen[l.Digest] = true
						blobs = append(blobs, l)
					}
				}
			}
		}
		docs = append(docs, d)
	}
	walk(d)
	return docs, blobs, err
}
