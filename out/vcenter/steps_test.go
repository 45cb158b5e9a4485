package vcenter

import (
	"context"
	"errors"
	"fmt"

	"github.com/bdebundle/bundle/out/manifest"
)

// caller is what the caller of the deploy steps supplies (pipeline, in the
// program): the verification of the bundle directory, or the bundle it
// verified, and the image push.
type caller struct {
	// verify checks the directory and gives the digest of the bundle.json
	// it checked; nil is checkFiles.
	verify func(ctx context.Context, dir string) (string, error)
	// bundle, when set, is the verified bundle: verify is not called.
	bundle *Bundle
	// push pushes the layout; nil leaves the images unpushed.
	push func(ctx context.Context, layoutDir, registry string) (ImagesPushed, error)
}

// Deploy runs the steps of a deploy in the order pipeline.Deploy runs them:
// verify, Open, then DryRun, or Apply, the push, RecordImages and Finish;
// Close.
func Deploy(ctx context.Context, dir string, cfg Config, opts Options, with ...caller) (*Outcome, error) {
	var c caller
	if len(with) > 0 {
		c = with[0]
	}
	b, err := c.verified(ctx, dir)
	if err != nil {
		return nil, err
	}
	d, err := Open(ctx, b, cfg, opts)
	if err != nil {
		return nil, err
	}
	defer d.Close(ctx)
	if opts.DryRun {
		return d.DryRun(), nil
	}
	out, err := d.Apply(ctx)
	if err != nil {
		return out, err
	}
	if ip := d.Images(); ip != nil && c.push != nil {
		pushed, perr := c.push(ctx, ip.LayoutDir, ip.Registry)
		if err := d.RecordImages(ctx, pushed, perr); err != nil {
			return out, err
		}
	}
	return d.Finish(ctx)
}

// verified is c.bundle, else the bundle in dir checked with c.verify and
// read again, refused unless its bundle.json is the one verified.
func (c caller) verified(ctx context.Context, dir string) (*Bundle, error) {
	if c.bundle != nil {
		return c.bundle, nil
	}
	verify := c.verify
	if verify == nil {
		verify = checkFiles
	}
	sum, err := verify(ctx, dir)
	if err != nil {
		var ve *manifest.VerifyError
		if !errors.As(err, &ve) {
			err = &manifest.VerifyError{Path: dir, Err: err}
		}
		return nil, err
	}
	b, err := LoadBundle(dir)
	if err != nil {
		return nil, err
	}
	if b.SHA256 != sum {
		return nil, &manifest.VerifyError{Path: dir, Err: fmt.Errorf("bundle.json %w: it hashes to sha256:%s, the verified one to sha256:%s", ErrChanged, b.SHA256, sum)}
	}
	return b, nil
}
