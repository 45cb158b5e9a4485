package images

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// Lock resolves every spec to the digest its reference names now and returns
// the specs with their Digest set. Specs that are already pinned (Digest
// set) keep their digest without a look-up unless opts.UpdateLock is set,
// like `terraform init` keeps locked providers. Platforms are checked
// against the source. Offline, unpinned registry references are an error.
// The lock file (internal/lockfile) records what Lock returns.
func Lock(ctx context.Context, specs []Spec, opts Options) ([]Spec, error) {
	opts = opts.withDefaults()
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	out := make([]Spec, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, spec := range specs {
		out[i] = spec
		if spec.Digest != "" && !opts.UpdateLock {
			continue
		}
		g.Go(func() error {
			src, err := parseSource(spec.Ref, opts.Insecure)
			if err != nil {
				return fmt.Errorf("image %q: %w", spec.Name, err)
			}
			if src.Kind == Registry && opts.Offline {
				return fmt.Errorf("image %q: locking %s needs the registry and the network is off", spec.Name, spec.Ref)
			}
			a, h, err := open(gctx, src, opts)
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			if _, err := selectPlatforms(a, spec.Platforms); err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			out[i].Digest = h.String()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckPlatforms refuses a platform of ps that is not os/arch[/variant].
func CheckPlatforms(ps []string) error {
	_, err := parsePlatforms(ps)
	return err
}
