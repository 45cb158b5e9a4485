package vcenter

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"

	"github.com/bdebundle/bundle/internal/regular"
)

// ErrChanged is wrapped by errors about a bundle file whose bytes, read to
// be uploaded, are not the bytes that were verified: deploy never sends a
// file it did not hash on the way.
var ErrChanged = errors.New("changed since it was verified")

// checkedReader reads a bundle file for upload, hashing every byte as it
// goes. It holds the file's last byte back until it has seen the end of the
// file and the whole content hashed to the sha256 bundle.json lists, so a
// file rewritten after verify (even with the same size) never reaches the
// other end in full: the upload fails instead of completing.
type checkedReader struct {
	r     io.Reader
	c     io.Closer
	f     File
	h     hash.Hash
	sent  int64 // bytes handed out
	ok    bool  // the whole file was read and matched
	err   error
	final [1]byte
}

// openChecked opens the bundle file f (a regular file under dir) for a
// checked upload.
func openChecked(dir string, f File) (*checkedReader, error) {
	fh, err := regular.Open(filepath.Join(dir, filepath.FromSlash(f.Path)))
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w", f.Path, err)
	}
	return &checkedReader{r: fh, c: fh, f: f, h: sha256.New()}, nil
}

func (c *checkedReader) fail(format string, a ...any) (int, error) {
	c.err = fmt.Errorf("%q %w: %s", c.f.Path, ErrChanged, fmt.Sprintf(format, a...))
	return 0, c.err
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	left := c.f.Size - c.sent
	if left > 1 {
		if int64(len(p)) > left-1 {
			p = p[:left-1]
		}
		n, err := c.r.Read(p)
		c.h.Write(p[:n])
		c.sent += int64(n)
		if err == io.EOF {
			return c.fail("%d bytes, bundle.json says %d", c.sent, c.f.Size)
		}
		if err != nil {
			c.err = fmt.Errorf("reading %q: %w", c.f.Path, err)
			return n, c.err
		}
		return n, nil
	}
	if c.ok {
		return 0, io.EOF
	}
	// The last byte (none for an empty file): read it, make sure nothing
	// follows, and check the digest before handing it out.
	if left == 1 {
		if _, err := io.ReadFull(c.r, c.final[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return c.fail("%d bytes, bundle.json says %d", c.sent, c.f.Size)
			}
			c.err = fmt.Errorf("reading %q: %w", c.f.Path, err)
			return 0, c.err
		}
		c.h.Write(c.final[:])
	}
	var extra [1]byte
	if n, err := io.ReadFull(c.r, extra[:]); n > 0 {
		return c.fail("longer than the %d bytes bundle.json says", c.f.Size)
	} else if err != io.EOF {
		c.err = fmt.Errorf("reading %q: %w", c.f.Path, err)
		return 0, c.err
	}
	if got := hex.EncodeToString(c.h.Sum(nil)); got != c.f.SHA256 {
		return c.fail("sha256 %s, bundle.json says %s", got, c.f.SHA256)
	}
	c.ok = true
	if left == 1 {
		p[0] = c.final[0]
		c.sent++
		return 1, nil
	}
	return 0, io.EOF
}

// done reports an error unless the file was read to its end and matched.
func (c *checkedReader) done() error {
	if c.err != nil {
		return c.err
	}
	if !c.ok {
		return fmt.Errorf("%q: the upload ended after %d of %d bytes, before the file was checked", c.f.Path, c.sent, c.f.Size)
	}
	return nil
}

func (c *checkedReader) Close() error { return c.c.Close() }

// maxDescriptorSize bounds the OVF descriptors read into memory.
const maxDescriptorSize = 16 << 20

// readChecked reads a whole bundle file (a descriptor) and checks it
// against bundle.json.
func readChecked(dir string, f File) ([]byte, error) {
	if f.Size > maxDescriptorSize {
		return nil, fmt.Errorf("%q: %d bytes, more than a descriptor may be (%d)", f.Path, f.Size, maxDescriptorSize)
	}
	c, err := openChecked(dir, f)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		return nil, err
	}
	return b, c.done()
}
