package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/bdebundle/bundle/images/layout"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// Resolve works out, without fetching any layer, what Mirror would store for
// each spec: the digest of the stored manifest or index (what app definitions
// reference), the source digest (what the lock pins) and the repository at
// the site registry. Local sources are read; registry references are asked
// for their manifest, or, offline, looked up in the layout at layoutDir (the
// previous build's), which must hold their pinned digest. Results come in the
// order of specs; Size is not set.
func Resolve(ctx context.Context, layoutDir string, specs []Spec, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	m := &mirror{opts: opts, prev: openPrevious(layoutDir), record: true}
	out := make([]Result, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	// What is opened from a registry for opts.Resolved keeps the context it
	// was opened with for the layers Mirror fetches later: the caller's, not
	// this group's, which ends when Resolve returns.
	openCtx := func(gctx context.Context) context.Context {
		if opts.Resolved != nil {
			return ctx
		}
		return gctx
	}
	for i, spec := range specs {
		g.Go(func() error {
			a, srcDigest, src, err := m.resolve(openCtx(gctx), spec)
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			// Local sources, and registry images taken offline from the
			// previous layout, are read in full: what the build copies.
			if opts.VerifyLocal && (src.Kind != Registry || a.preselected) {
				if err := verifyBlobs(gctx, a); err != nil {
					return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
				}
			}
			if opts.VerifyLocal && src.Kind == DockerArchive && a.img != nil {
				if err := verifyDiffIDs(gctx, a.img); err != nil {
					return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
				}
			}
			d, err := a.digest()
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			mt, err := a.mediaType()
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			out[i] = Result{Name: spec.Name, Ref: spec.Ref, Digest: d.String(), MediaType: string(mt),
				SourceDigest: srcDigest.String(), Repository: Repository(spec), Platforms: spec.Platforms}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// Resolutions carries what Resolve opened from registries — each source
// reference's manifest or index, with the manifests below it once read, and
// the digest it resolved to — to the Resolve calls after it and to a Mirror
// in the same build (Options.Resolved), so that a build asks each registry
// for each manifest once. The lock check, platform selection and media type
// conversion run on it again, as they would on a fresh answer. The zero
// value is ready to use; it is safe for concurrent use.
type Resolutions struct {
	mu sync.Mutex
	m  map[string]opened
}

type opened struct {
	a         artifact
	srcDigest v1.Hash
}

func (r *Resolutions) get(ref string) (opened, bool) {
	if r == nil {
		return opened{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.m[ref]
	return o, ok
}

func (r *Resolutions) put(ref string, o opened) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]opened{}
	}
	if _, ok := r.m[ref]; !ok {
		r.m[ref] = o
	}
}

// verifyBlobs reads every blob of a (local) artifact and checks its size and
// digest against the manifests that name it.
func verifyBlobs(ctx context.Context, a artifact) error {
	jobs, err := collect(a, false)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := j.Verify(); err != nil {
			return fmt.Errorf("%s %s: %w", j.What, j.Digest, err)
		}
	}
	return nil
}

// verifyDiffIDs decompresses every layer of img and checks it against the
// diff_id its config names. A docker archive's layers are not named by
// their digests (those are computed from the bytes as read), so this is
// the only check of their content: a corrupt gzip stream is refused here,
// not pulled at the site.
func verifyDiffIDs(ctx context.Context, img v1.Image) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return fmt.Errorf("the config names %d layers (rootfs.diff_ids), the manifest %d", len(cf.RootFS.DiffIDs), len(layers))
	}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := cf.RootFS.DiffIDs[i]
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %d: decompressing: %w", i+1, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
			return fmt.Errorf("layer %d: %w: its uncompressed content hashes to sha256:%s, the config's diff_id is %s", i+1, layout.ErrDigestMismatch, got, want)
		}
	}
	return nil
}
