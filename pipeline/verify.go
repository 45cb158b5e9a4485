package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/ovf"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
	"github.com/bdebundle/bundle/repo"
)

// VerifyRequest is what Verify is asked: the bundle, and verify's options
// (the key, progress; deep-check hooks left unset are filled in).
type VerifyRequest struct {
	// Path is the bundle: a bundle directory or its archive.
	Path string
	verify.Options
}

// Verify checks a bundle directory or archive with verify.Verify, adding the
// deep checks of a directory: repodata against its RPMs (repo), the OCI
// image layout (images) and each template's .mf (ovf). The request's own
// hooks, when set, are kept.
func Verify(ctx context.Context, req VerifyRequest) (*verify.Report, error) {
	return verify.Verify(ctx, req.Path, deepOptions(req.Options))
}

// deepOptions fills in the deep checks opts leaves unset.
func deepOptions(opts verify.Options) verify.Options {
	if opts.Repodata == nil {
		opts.Repodata = repo.VerifyRepodata
	}
	if opts.Layout == nil {
		opts.Layout = layout.Verify
	}
	if opts.OVF == nil {
		opts.OVF = func(_ context.Context, dir, name string) error {
			return ovf.VerifyManifest(dir, name)
		}
	}
	return opts
}

// verified verifies the bundle at path (a directory with the deep checks,
// an archive as a stream) and returns the report of a good bundle, its
// Manifest set. A bundle that cannot be read as one, or has problems, is a
// *manifest.VerifyError.
func verified(ctx context.Context, path string, opts verify.Options) (*verify.Report, error) {
	r, err := Verify(ctx, VerifyRequest{Path: path, Options: opts})
	if err != nil {
		return nil, &manifest.VerifyError{Path: path, Err: err}
	}
	if !r.OK() {
		return nil, &manifest.VerifyError{Path: path, Err: problemsErr(r)}
	}
	return r, nil
}

// problemsErr is nil for a good report, else an error listing its problems.
func problemsErr(r *verify.Report) error {
	if r.OK() {
		return nil
	}
	var b strings.Builder
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Path, p.Problem)
	}
	noun := "problems"
	if len(r.Problems) == 1 {
		noun = "problem"
	}
	return fmt.Errorf("%d %s:%s", len(r.Problems), noun, b.String())
}
