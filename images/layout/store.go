package layout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/internal/retry"
)

// Blob is one blob to store.
type Blob struct {
	Digest v1.Hash
	// Size is the blob's size (-1 = not known: only the digest is checked).
	Size int64
	// What names the blob in errors: manifest, index, config or layer.
	What string
	// Open opens the blob's content at its source.
	Open func() (io.ReadCloser, error)
	// Retriable says which failures of Open and of the copy are worth
	// another try (nil = none): network sources' transient ones.
	Retriable func(error) bool
}

// Store writes verified blobs into a layout's blobs/sha256 directory, each
// digest once even when several images ask for it at the same time.
type Store struct {
	dir     string
	prevDir string // blobs/sha256 of the layout being replaced, or ""
	policy  retry.Policy
	sem     chan struct{}

	mu    sync.Mutex
	calls map[v1.Hash]*call
}

type call struct {
	done chan struct{}
	err  error
}

// NewStore stores blobs in blobDir (a layout's blobs/sha256), copying those
// prevBlobDir holds ("" = none: the blobs/sha256 of the layout being
// replaced) from there instead of their source, at most workers at a time,
// retrying failures a Blob's Retriable accepts with policy.
func NewStore(blobDir, prevBlobDir string, workers int, policy retry.Policy) *Store {
	return &Store{dir: blobDir, prevDir: prevBlobDir, policy: policy, sem: make(chan struct{}, max(workers, 1)), calls: map[v1.Hash]*call{}}
}

// Dir is the blobs/sha256 directory the store writes.
func (s *Store) Dir() string { return s.dir }

// PutAll stores blobs in parallel (bounded by the store's workers across
// all calls), reporting bytes to task.
func (s *Store) PutAll(ctx context.Context, jobs []Blob, task progress.Task) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, j := range jobs {
		g.Go(func() error {
			if err := s.put(gctx, j, task); err != nil {
				return fmt.Errorf("%s %s: %w", j.What, j.Digest, err)
			}
			return nil
		})
	}
	return g.Wait()
}

func (s *Store) put(ctx context.Context, j Blob, task progress.Task) error {
	if j.Digest.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", j.Digest.Algorithm)
	}
	s.mu.Lock()
	c, ok := s.calls[j.Digest]
	if !ok {
		c = &call{done: make(chan struct{})}
		s.calls[j.Digest] = c
	}
	s.mu.Unlock()
	if ok {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.err == nil {
			task.Add(j.Size)
		}
		return c.err
	}
	defer close(c.done)
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		c.err = ctx.Err()
		return c.err
	}
	defer func() { <-s.sem }()
	c.err = s.fetch(ctx, j, task)
	return c.err
}

// fetch copies one blob, from the previous layout when it has it, else from
// the source, retrying transient failures with backoff.
func (s *Store) fetch(ctx context.Context, j Blob, task progress.Task) error {
	if s.prevDir != "" {
		p := filepath.Join(s.prevDir, j.Digest.Hex)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Size() == j.Size {
			open := func() (io.ReadCloser, error) { return regular.Open(p) }
			if err := s.copy(j, open, task); err == nil {
				return nil
			}
		}
	}
	_, err := retry.Do(ctx, s.policy,
		func(err error) bool { return j.Retriable != nil && j.Retriable(err) },
		"pull retry", func() error { return s.copy(j, j.Open, task) }, "digest", j.Digest.String())
	return err
}

// Verify reads the blob from its source to the end and checks its size and
// digest, as the store does when it writes it (ErrDigestMismatch).
func (b Blob) Verify() error {
	rc, err := b.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return err
	}
	return b.check(n, h.Sum(nil))
}

// check compares n bytes read, hashing to sum, with the blob's size and
// digest.
func (b Blob) check(n int64, sum []byte) error {
	if b.Size >= 0 && n != b.Size {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrDigestMismatch, n, b.Size)
	}
	if got := hex.EncodeToString(sum); got != b.Digest.Hex {
		return fmt.Errorf("%w: content hashes to sha256:%s", ErrDigestMismatch, got)
	}
	return nil
}

// ErrDigestMismatch is wrapped by errors about content that does not hash
// to the digest it was asked for.
var ErrDigestMismatch = errors.New("digest mismatch")

func (s *Store) copy(j Blob, open func() (io.ReadCloser, error), task progress.Task) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.CreateTemp(s.dir, ".partial-")
	if err != nil {
		return fmt.Errorf("creating blob file: %w", err)
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), progress.Reader(rc, task))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %q: %w", f.Name(), cerr)
	}
	if err != nil {
		// go-containerregistry checks remote blobs as it reads them.
		if strings.Contains(err.Error(), "error verifying sha256 checksum") {
			return fmt.Errorf("%w: %v", ErrDigestMismatch, err)
		}
		return err
	}
	if err := j.check(n, h.Sum(nil)); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(s.dir, j.Digest.Hex)); err != nil {
		return fmt.Errorf("storing blob: %w", err)
	}
	return nil
}
