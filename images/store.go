package images

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
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/internal/retry"
)

// store writes verified blobs into a layout's blobs/sha256 directory, each
// digest once even when several images ask for it at the same time.
type store struct {
	dir     string
	prevDir string // blobs/sha256 of the layout being replaced, or ""
	opts    Options
	sem     chan struct{}

	mu    sync.Mutex
	calls map[v1.Hash]*call
}

type call struct {
	done chan struct{}
	err  error
}

func newStore(dir string, opts Options) *store {
	return &store{dir: dir, opts: opts, sem: make(chan struct{}, opts.Workers), calls: map[v1.Hash]*call{}}
}

// putAll stores jobs in parallel (bounded by Options.Workers across all
// images), reporting bytes to task.
func (s *store) putAll(ctx context.Context, jobs []job, task progress.Task) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, j := range jobs {
		g.Go(func() error {
			if err := s.put(gctx, j, task); err != nil {
				return fmt.Errorf("%s %s: %w", j.what, j.digest, err)
			}
			return nil
		})
	}
	return g.Wait()
}

func (s *store) put(ctx context.Context, j job, task progress.Task) error {
	if j.digest.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", j.digest.Algorithm)
	}
	s.mu.Lock()
	c, ok := s.calls[j.digest]
	if !ok {
		c = &call{done: make(chan struct{})}
		s.calls[j.digest] = c
	}
	s.mu.Unlock()
	if ok {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.err == nil {
			task.Add(j.size)
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
func (s *store) fetch(ctx context.Context, j job, task progress.Task) error {
	if s.prevDir != "" {
		p := filepath.Join(s.prevDir, j.digest.Hex)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Size() == j.size {
			open := func() (io.ReadCloser, error) { return regular.Open(p) }
			if err := s.copy(j, open, task); err == nil {
				return nil
			}
		}
	}
	_, err := retry.Do(ctx, retry.Policy{Retries: s.opts.Retries, Backoff: s.opts.Backoff},
		func(err error) bool { return j.retry && transient(err) },
		"pull retry", func() error { return s.copy(j, j.open, task) }, "digest", j.digest.String())
	return err
}

// ErrDigestMismatch is wrapped by errors about content that does not hash
// to the digest it was asked for.
var ErrDigestMismatch = errors.New("digest mismatch")

func (s *store) copy(j job, open func() (io.ReadCloser, error), task progress.Task) error {
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
	if j.size >= 0 && n != j.size {
		return fmt.Errorf("%w: got %d bytes, want %d", ErrDigestMismatch, n, j.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != j.digest.Hex {
		return fmt.Errorf("%w: content hashes to sha256:%s", ErrDigestMismatch, got)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(s.dir, j.digest.Hex)); err != nil {
		return fmt.Errorf("storing blob: %w", err)
	}
	return nil
}

// transient reports whether a registry request that failed with err may
// succeed when made again: an answer by its status, else a network
// failure (retry.Status, retry.Transient).
func transient(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return retry.Status(te.StatusCode)
	}
	return retry.Transient(err)
}
