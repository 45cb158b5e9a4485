package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	"github.com/bdebundle/bundle/out/manifest"
)

// Bounds of an archive read. Every byte a walk decompresses is counted:
// until bundle.json has been read and parsed, the stream may expand to at
// most PreManifestLimit bytes (a bundle this tool wrote holds only its top
// directory and SHA256SUMS before bundle.json, which its sorted order puts
// second); after, each file entry must have exactly the size bundle.json
// records for its path and the rest of the stream may expand to no more
// than those sizes plus tar overhead. A compression bomb or a header that
// lies about its size thus stops before its data is read.
const (
	// PreManifestLimit bounds the decompressed bytes before bundle.json
	// has been parsed (its own bytes included).
	PreManifestLimit = 2*manifest.MaxMetaSize + 1<<20
	// entryOverhead is allowed per entry for its header, padding and
	// PAX records, on top of twice the length of its name.
	entryOverhead = 8 << 10
	// streamSlack is allowed once, for the end-of-archive blocks and the
	// record padding tar writers add.
	streamSlack = 1 << 20
)

// errExpands is returned by a bounded read past its limit.
var errExpands = errors.New("the archive expands beyond what bundle.json allows")

// bounds counts the decompressed stream of one archive walk and admits or
// refuses each entry before its data is read.
type bounds struct {
	r     io.Reader
	n     int64 // decompressed bytes read
	limit int64 // bytes n may reach
	err   error // the error of a read past limit

	manifestSeen bool             // the first bundle.json entry was read
	sizes        map[string]int64 // bundle.json's files, once parsed
	dirs         map[string]bool  // directories of those files ("" the top)
	early        []earlyEntry     // files read before bundle.json
	meta         map[string]bool  // metadata files already given room
}

type earlyEntry struct {
	name, rel string
	size      int64
}

func newBounds(r io.Reader) *bounds {
	return &bounds{r: r, limit: PreManifestLimit, meta: map[string]bool{}}
}

func (b *bounds) Read(p []byte) (int, error) {
	if b.n >= b.limit {
		b.err = fmt.Errorf("%w: more than %d bytes decompressed", errExpands, b.limit)
		return 0, b.err
	}
	if rest := b.limit - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// admit checks an entry (already passed by safeEntry, rel its path below
// the top directory) before its data is read.
func (b *bounds) admit(h *tar.Header, rel string) error {
	if h.Typeflag == tar.TypeDir {
		if b.sizes != nil && !b.dirs[rel] {
			return fmt.Errorf("directory %q holds no file bundle.json lists", h.Name)
		}
		return nil
	}
	if h.Size < 0 {
		return fmt.Errorf("%q has a negative size", h.Name)
	}
	if manifest.IsMetaFile(rel) {
		if h.Size > manifest.MaxMetaSize {
			return fmt.Errorf("%q is %d bytes, more than the %d bytes allowed for %s", h.Name, h.Size, manifest.MaxMetaSize, rel)
		}
		if b.sizes != nil && !b.meta[rel] {
			b.meta[rel] = true
			b.limit += h.Size
		}
		if b.sizes == nil && rel != manifest.FileName {
			b.early = append(b.early, earlyEntry{h.Name, rel, h.Size})
		}
		return nil
	}
	if b.sizes == nil {
		if rest := b.limit - b.n; h.Size > rest {
			return fmt.Errorf("%q is %d bytes, more than the %d bytes left for entries before bundle.json", h.Name, h.Size, rest)
		}
		b.early = append(b.early, earlyEntry{h.Name, rel, h.Size})
		return nil
	}
	return b.check(h.Name, rel, h.Size)
}

// check compares one file entry with bundle.json.
func (b *bounds) check(name, rel string, size int64) error {
	want, ok := b.sizes[rel]
	if !ok {
		return fmt.Errorf("%q is not listed in bundle.json", name)
	}
	if size != want {
		return fmt.Errorf("%q is %d bytes in the archive, bundle.json says %d", name, size, want)
	}
	return nil
}

// setManifest switches to bundle.json's sizes once it parsed. The files
// read before it are checked against it, and the rest of the stream gets
// room for the files not yet read plus overhead. A bundle.json that does
// not parse leaves the fixed limit in force.
func (b *bounds) setManifest(m *manifest.Manifest) error {
	b.manifestSeen = true
	if m == nil {
		return nil
	}
	sizes := make(map[string]int64, len(m.Files))
	dirs := map[string]bool{"": true}
	var room int64
	for _, f := range m.Files {
		if _, dup := sizes[f.Path]; dup {
			continue
		}
		sizes[f.Path] = f.Size
		room += f.Size + entryOverhead + 2*int64(len(f.Path))
		for d := PathDir(f.Path); !dirs[d]; d = PathDir(d) {
			dirs[d] = true
			room += entryOverhead + 2*int64(len(d))
		}
	}
	b.sizes, b.dirs = sizes, dirs
	for _, e := range b.early {
		if manifest.IsMetaFile(e.rel) {
			b.meta[e.rel] = true
			continue
		}
		if err := b.check(e.name, e.rel, e.size); err != nil {
			return &Error{Entry: e.name, Refused: true, Err: fmt.Errorf("%w (read before bundle.json)", err)}
		}
		room -= e.size
	}
	room += 4*entryOverhead + streamSlack
	b.limit = b.n + room
	return nil
}
