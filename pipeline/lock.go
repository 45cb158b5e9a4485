package pipeline

import (
	"context"

	"github.com/bdebundle/bundle/compiler"
	def "github.com/bdebundle/bundle/hcl"
	"github.com/bdebundle/bundle/images"
	"github.com/hashicorp/hcl/v2"
)

// LockOptions tune Lock.
type LockOptions struct {
	// Update re-resolves entries already pinned.
	Update bool
	// Insecure lists registry hosts reached over plain HTTP.
	Insecure []string
}

// LockResult is what Lock wrote.
type LockResult struct {
	// Path is the lock file written (bundle.lock.hcl beside the definition).
	Path string
	// Images are the pinned images, their refs as written in the definition.
	Images []images.Locked
}

// Lock is the lock flow: it loads and checks the definition at p (without
// reading its inputs), resolves every image block to the digest it names now
// and writes the lock file. Definition problems come back as diagnostics,
// with the definition (nil when it did not load) for rendering them;
// resolving and writing problems as the error.
func Lock(ctx context.Context, p string, lopts def.Options, opts LockOptions) (*LockResult, *def.Definition, hcl.Diagnostics, error) {
	d, diags := def.Load(p, lopts)
	if diags.HasErrors() {
		return nil, d, compiler.Scrub(d, diags), nil
	}
	if _, cds := compiler.Compile(d, nil); cds.HasErrors() {
		return nil, d, compiler.Scrub(d, cds), nil
	}
	specs, lds := ImageSpecs(d)
	if lds.HasErrors() {
		return nil, d, compiler.Scrub(d, lds), nil
	}
	locked, err := images.Lock(ctx, specs, images.Options{UpdateLock: opts.Update, Insecure: opts.Insecure})
	if err != nil {
		return nil, d, nil, err
	}
	written := map[string]string{}
	for _, im := range d.Images {
		written[im.Name] = im.Ref
	}
	for i := range locked {
		locked[i].Ref = written[locked[i].Name] // as written: no host paths in the lock
	}
	res := &LockResult{Path: LockPath(p), Images: locked}
	if err := images.WriteLock(res.Path, locked); err != nil {
		return nil, d, nil, err
	}
	return res, d, nil, nil
}
