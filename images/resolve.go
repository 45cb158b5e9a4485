package images

import (
	"context"
	"fmt"

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
	m := &mirror{opts: opts, prev: openPrevious(layoutDir)}
	out := make([]Result, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, spec := range specs {
		g.Go(func() error {
			a, srcDigest, _, err := m.resolve(gctx, spec)
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
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
