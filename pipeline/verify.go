package pipeline

import (
	"context"

	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/ovf"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/repo"
)

// Verify checks a bundle directory or archive with out.Verify, adding the
// deep checks of a directory: repodata against its RPMs (repo), the OCI
// image layout (images) and each template's .mf (ovf). opts' own hooks, when
// set, are kept.
func Verify(ctx context.Context, bundle string, opts read.VerifyOptions) (*read.Report, error) {
	if opts.Repodata == nil {
		opts.Repodata = repo.VerifyRepodata
	}
	if opts.Layout == nil {
		opts.Layout = images.VerifyLayout
	}
	if opts.OVF == nil {
		opts.OVF = func(_ context.Context, dir, name string) error {
			return ovf.VerifyManifest(dir, name)
		}
	}
	return read.Verify(ctx, bundle, opts)
}
