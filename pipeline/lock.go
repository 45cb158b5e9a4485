package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/inputfacts"
	"github.com/bdebundle/bundle/internal/lockfile"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// LockRequest is what Lock is asked.
type LockRequest struct {
	// Path is the definition: a .hcl file or a directory of them.
	Path string
	// Load tunes loading it (variables, var files).
	Load sitedef.Options
	// Update re-resolves entries already pinned.
	Update bool
	// Insecure lists registry hosts reached over plain HTTP.
	Insecure []string
	// RegistryTimeout bounds each wait for a registry (0 = the defaults).
	RegistryTimeout time.Duration
}

// LockResult is what Lock wrote.
type LockResult struct {
	// Path is the lock file written (bundle.lock.hcl beside the definition).
	Path string
	// Images are the pinned images, their refs as written in the definition.
	Images []lockfile.Entry
}

// Lock is the lock flow: it loads and checks the definition at req.Path
// (reading no input but its local image sources, which it refuses as
// validate does: a missing source, a blob missing or not matching its
// digest, or, without req.Update, a digest other than the one pinned),
// resolves every image block to the digest it names now and writes the lock
// file. Definition problems come back as diagnostics,
// with the definition (nil when it did not load) for rendering them;
// resolving and writing problems as the error.
func Lock(ctx context.Context, req LockRequest) (*LockResult, *sitedef.Definition, hcl.Diagnostics, error) {
	d, diags := sitedef.Load(req.Path, req.Load)
	if diags.HasErrors() {
		return nil, d, compiler.Scrub(d, diags), nil
	}
	if _, cds := compiler.Compile(d, nil); cds.HasErrors() {
		return nil, d, compiler.Scrub(d, cds), nil
	}
	specs, lds := lockfile.Specs(d)
	if lds.HasErrors() {
		return nil, d, compiler.Scrub(d, lds), nil
	}
	if ids := checkLocalImages(ctx, d, specs, req.Update); ids.HasErrors() {
		return nil, d, compiler.Scrub(d, ids), nil
	}
	locked, err := lockfile.Pin(ctx, d, specs, images.Options{Options: registry.Options{Insecure: req.Insecure, Timeout: req.RegistryTimeout}, UpdateLock: req.Update})
	if err != nil {
		if registry.IsNetwork(err) || ctx.Err() != nil {
			return nil, d, nil, err
		}
		// The registry answered (no such tag or repository, a platform
		// the image lacks...): a fault of the definition, reported as
		// build reports it, at the image's ref.
		return nil, d, compiler.Scrub(d, hcl.Diagnostics{errDiag(lockErrAt(d, err), "Cannot resolve image", err.Error())}), nil
	}
	res := &LockResult{Path: lockfile.Path(req.Path), Images: locked}
	if err := lockfile.Write(res.Path, locked); err != nil {
		return nil, d, nil, err
	}
	return res, d, nil, nil
}

// checkLocalImages refuses the local image sources of specs as validate
// does, with the same diagnostics at the same place (inputfacts.LocalImages),
// then the compiler's errors in image blocks, not at the place of one of
// those: the checks of the source paths.
func checkLocalImages(ctx context.Context, d *sitedef.Definition, specs []images.Spec, update bool) hcl.Diagnostics {
	files := inputfacts.Files(d)
	diags := inputfacts.LocalImages(ctx, d, files, specs, update)
	_, cds := compiler.Compile(d, inputfacts.FileFacts(files))
	for _, c := range notEchoes(cds, diags) {
		if c.Severity == hcl.DiagError && inImageBlock(d, c.Subject) {
			diags = append(diags, c)
		}
	}
	return sortDiags(diags)
}

// inImageBlock reports whether r lies inside one of d's image blocks.
func inImageBlock(d *sitedef.Definition, r *hcl.Range) bool {
	if r == nil {
		return false
	}
	for _, im := range d.Images {
		if sb, ok := im.Body.(*hclsyntax.Body); ok && sb.SrcRange.Filename == r.Filename &&
			(sb.SrcRange.ContainsOffset(r.Start.Byte) || im.DeclRange.ContainsOffset(r.Start.Byte)) {
			return true
		}
	}
	return false
}

// lockErrAt is the ref of the image an images.Lock error names (its
// messages start with image "NAME"), or nil.
func lockErrAt(d *sitedef.Definition, err error) *hcl.Range {
	for _, im := range d.Images {
		if strings.HasPrefix(err.Error(), fmt.Sprintf("image %q", im.Name)) {
			return inputfacts.AttrRange(im.Body, "ref", im.DeclRange)
		}
	}
	return nil
}
