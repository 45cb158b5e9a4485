package repo

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/bdebundle/bundle/internal/regular"
)

// metaKind is one of the three metadata files of a yum repository.
type metaKind int

const (
	primaryMeta metaKind = iota
	filelistsMeta
	otherMeta
)

// metaKinds are the metadata files in the order they are read and written.
var metaKinds = [3]metaKind{primaryMeta, filelistsMeta, otherMeta}

// String is the kind's <data type> in repomd.xml.
func (k metaKind) String() string {
	return [...]string{"primary", "filelists", "other"}[k]
}

// root is the name of the kind's document element.
func (k metaKind) root() string {
	return [...]string{"metadata", "filelists", "otherdata"}[k]
}

// metadataFile is a metadata file repomd.xml lists, opened to be read and
// checked in one pass: R gives the document (decompressed when the name
// ends in .gz) while the file's bytes are counted and hashed with the
// checksum type repomd.xml gives; check then reads what is left and
// compares.
type metadataFile struct {
	where string
	d     *repomdData
	f     *os.File
	sum   *hashCounter // the file's bytes
	raw   io.Reader    // the file, counted and hashed as it is read
	R     io.Reader    // the document
}

// openMetadata opens the file d names in repoDir and its document: the
// one way bundle opens a metadata file, to parse it (ReadRepodata, the
// old repodata --update reuses) or to verify it (VerifyRepodata).
func openMetadata(repoDir string, d *repomdData) (*metadataFile, error) {
	m, err := openMetadataFile(repoDir, d)
	if err != nil {
		return nil, err
	}
	if err := m.decompress(); err != nil {
		m.Close()
		return nil, m.errorf(err)
	}
	return m, nil
}

// openMetadataFile opens the file without looking inside it yet.
func openMetadataFile(repoDir string, d *repomdData) (*metadataFile, error) {
	where := filepath.Join(repoDir, filepath.FromSlash(d.Location.Href))
	f, err := regular.Open(where)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", where, err)
	}
	newHash, ok := metadataHashes[d.Checksum.Type]
	if !ok {
		f.Close()
		return nil, fmt.Errorf("reading %q: repomd.xml gives a %q checksum, which is not supported (sha1, sha256, sha512)", where, d.Checksum.Type)
	}
	m := &metadataFile{where: where, d: d, f: f, sum: &hashCounter{h: newHash()}}
	m.raw = io.TeeReader(f, m.sum)
	m.R = bufio.NewReaderSize(m.raw, 128<<10)
	return m, nil
}

// decompress makes R the decompressed document when the file is gzipped.
func (m *metadataFile) decompress() error {
	if !strings.HasSuffix(m.d.Location.Href, ".gz") {
		return nil
	}
	zr, err := gzip.NewReader(m.R)
	if err != nil {
		return err
	}
	m.R = zr
	return nil
}

// drain reads to the end (the gzip trailer, then anything after it) so
// the whole file is counted and hashed.
func (m *metadataFile) drain() error {
	if _, err := io.Copy(io.Discard, m.R); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, m.raw)
	return err
}

// digest is the hex checksum of the bytes read so far.
func (m *metadataFile) digest() string { return hex.EncodeToString(m.sum.h.Sum(nil)) }

// errorf wraps a problem found while reading the file with its path.
func (m *metadataFile) errorf(err error) error {
	return fmt.Errorf("reading %q: %w", m.where, err)
}

// check reads to the end and compares the checksum with repomd.xml's.
func (m *metadataFile) check() error {
	if err := m.drain(); err != nil {
		return m.errorf(err)
	}
	if want := strings.TrimSpace(m.d.Checksum.Value); m.digest() != want {
		return fmt.Errorf("reading %q: %s %s, repomd.xml says %s", m.where, m.d.Checksum.Type, m.digest(), want)
	}
	return nil
}

// verify reads the whole file and says, in one line, every way it
// differs from what repomd.xml records: size and checksum, and for a
// gzipped file the size and checksum of its document. Empty means none.
func (m *metadataFile) verify() string {
	var msgs []string
	var open *hashCounter
	if strings.HasSuffix(m.d.Location.Href, ".gz") {
		newHash, ok := metadataHashes[m.d.OpenChecksum.Type]
		if !ok {
			newHash = sha256.New
		}
		open = &hashCounter{h: newHash()}
		err := m.decompress()
		if err == nil {
			_, err = io.Copy(open, m.R)
		}
		if err != nil {
			msgs = append(msgs, "corrupt gzip: "+err.Error())
			open.n = 0
		}
	}
	if _, err := io.Copy(io.Discard, m.raw); err != nil {
		return err.Error()
	}
	if m.sum.n != m.d.Size {
		msgs = append(msgs, fmt.Sprintf("size %d, repomd.xml says %d", m.sum.n, m.d.Size))
	}
	if got, want := m.digest(), m.d.Checksum.Value; got != want {
		msgs = append(msgs, fmt.Sprintf("%s %s, repomd.xml says %s", m.d.Checksum.Type, got, want))
	}
	if open != nil && open.n > 0 && m.d.OpenChecksum.Value != "" {
		if open.n != m.d.OpenSize {
			msgs = append(msgs, fmt.Sprintf("open size %d, repomd.xml says %d", open.n, m.d.OpenSize))
		}
		if got, want := hex.EncodeToString(open.h.Sum(nil)), m.d.OpenChecksum.Value; got != want {
			msgs = append(msgs, fmt.Sprintf("open %s %s, repomd.xml says %s", m.d.OpenChecksum.Type, got, want))
		}
	}
	return strings.Join(msgs, ", ")
}

// Close closes the file.
func (m *metadataFile) Close() error { return m.f.Close() }
