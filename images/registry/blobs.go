package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/progress"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// blobSource opens the blobs of a layout.
type blobSource interface {
	// upload calls up for each wanted blob, with a function opening its
	// content (nil when the blob is not there). Sources that can be read
	// in any order call up concurrently.
	each(ctx context.Context, want map[v1.Hash]v1.Descriptor, up func(h v1.Hash, open func() (io.ReadCloser, error)) error, workers int) error
	// once reports whether open may be called only once per blob.
	once() bool
}

type dirBlobs struct{ dir string }

func (s *dirBlobs) once() bool { return false }

func (s *dirBlobs) each(ctx context.Context, want map[v1.Hash]v1.Descriptor, up func(v1.Hash, func() (io.ReadCloser, error)) error, workers int) error {
	hs := make([]v1.Hash, 0, len(want))
	for h := range want {
		hs = append(hs, h)
	}
	slices.SortFunc(hs, func(a, b v1.Hash) int { return strings.Compare(a.Hex, b.Hex) })
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, h := range hs {
		g.Go(func() error {
			p := filepath.Join(s.dir, h.Hex)
			return up(h, func() (io.ReadCloser, error) { return os.Open(p) })
		})
		if gctx.Err() != nil {
			break
		}
	}
	return g.Wait()
}

type streamBlobs struct {
	walk layout.WalkFunc
	docs map[v1.Hash][]byte
}

func (s *streamBlobs) once() bool { return true }

// each reads the stream once, uploading the wanted blobs as they come, one
// at a time. A wanted blob the stream does not hold is reported missing.
func (s *streamBlobs) each(ctx context.Context, want map[v1.Hash]v1.Descriptor, up func(v1.Hash, func() (io.ReadCloser, error)) error, _ int) error {
	done := map[v1.Hash]bool{}
	err := s.walk(ctx, func(rel string, size int64, r io.Reader) error {
		hx, ok := strings.CutPrefix(rel, "blobs/sha256/")
		if !ok {
			return nil
		}
		h, err := v1.NewHash("sha256:" + hx)
		if err != nil {
			return nil
		}
		if _, ok := want[h]; !ok || done[h] {
			return nil
		}
		done[h] = true
		used := false
		return up(h, func() (io.ReadCloser, error) {
			if used {
				return nil, errStreamUsed
			}
			used = true
			return io.NopCloser(r), nil
		})
	})
	if err != nil {
		return err
	}
	for h := range want {
		if !done[h] {
			if err := up(h, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// errStreamUsed is returned when a blob read from a stream is asked for a
// second time (a retried upload): the next pass reads it again.
var errStreamUsed = errors.New("blob stream already read; retried in the next pass")

// blobLayer is a layout blob as go-containerregistry uploads it: its
// content is hashed as it is read and must match the descriptor.
type blobLayer struct {
	desc v1.Descriptor
	open func() (io.ReadCloser, error)
	task progress.Task
	n    *atomic.Int64
}

func (l *blobLayer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error) {
	return v1.Hash{}, errors.New("not known for a layout blob")
}
func (l *blobLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("not available for a layout blob")
}

func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.open()
	if err != nil {
		return nil, err
	}
	return &checkedReader{rc: rc, h: sha256.New(), want: l.desc, task: l.task, n: l.n}, nil
}

// checkedReader hashes what it reads and fails at the end when the content
// does not match the descriptor, so a changed blob is never committed.
type checkedReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want v1.Descriptor
	read int64
	task progress.Task
	n    *atomic.Int64
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	r.read += int64(n)
	if r.n != nil {
		r.n.Add(int64(n))
	}
	if r.task != nil {
		r.task.Add(int64(n))
	}
	if r.read > r.want.Size {
		return n, fmt.Errorf("%w: blob %s is longer than %d bytes", layout.ErrDigestMismatch, r.want.Digest, r.want.Size)
	}
	if err == io.EOF {
		if r.read != r.want.Size {
			return n, fmt.Errorf("%w: blob %s is %d bytes, descriptor says %d", layout.ErrDigestMismatch, r.want.Digest, r.read, r.want.Size)
		}
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want.Digest.Hex {
			return n, fmt.Errorf("%w: blob %s hashes to sha256:%s", layout.ErrDigestMismatch, r.want.Digest, got)
		}
	}
	return n, err
}

func (r *checkedReader) Close() error { return r.rc.Close() }
