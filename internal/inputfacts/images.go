package inputfacts

import (
	"context"
	"fmt"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/images/registry"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/internal/lockfile"
	"github.com/hashicorp/hcl/v2"
)

// gatherImages resolves every image to the digest the bundle will store.
// Registry references are resolved only when opts.Registry allows it (build,
// lock) or when the previous layout holds them pinned; otherwise they get no
// fact and the renderers use the reference as written.
func (res *Gathered) gatherImages(ctx context.Context, d *sitedef.Definition, opts Options) hcl.Diagnostics {
	specs, diags := lockfile.Specs(d)
	if diags.HasErrors() || len(specs) == 0 {
		return diags
	}
	facts := res.Facts
	res.ImageSpecs = specs
	res.Resolved = &images.Resolutions{}
	byName := map[string]*sitedef.Image{}
	for _, im := range d.Images {
		byName[im.Name] = im
	}
	// Local sources are read in full (every blob's digest checked), so
	// that validate refuses a broken layer as build would.
	iopts := images.Options{Options: registry.Options{Insecure: opts.Insecure, Timeout: opts.RegistryTimeout}, Offline: opts.Registries != RegistriesOnline, Progress: opts.Progress, UpdateLock: opts.UpdateLock, VerifyLocal: true, Resolved: res.Resolved}
	for _, s := range specs {
		im := byName[s.Name]
		if p, ok := compiler.ImagePath(im); im.Ref == "" || ok && !facts.Paths[p].Exists {
			continue // the compiler reports the empty ref or the missing source
		}
		src, err := images.ParseSource(s.Ref)
		// Without the network a registry image resolves only from the
		// previous bundle's layout, pinned. Offline (build --offline, and
		// validate --offline and build --plan --offline, which refuse what
		// it refuses) that is an error; otherwise (validate, build --plan)
		// a warning: a build with the network resolves it.
		soft := err == nil && src.Kind == images.Registry && opts.Registries == RegistriesCheck
		if soft && s.Digest == "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Image not pinned",
				Detail: fmt.Sprintf("Image %q: %s is not pinned in %s (run bundle lock): bundle build --offline would refuse it.",
					s.Name, s.Ref, sitedef.LockFile), Subject: AttrRange(im.Body, "ref", im.DeclRange)})
			continue
		}
		r, err := images.Resolve(ctx, opts.PrevLayout, []images.Spec{s}, iopts)
		if err != nil {
			sev, detail := hcl.DiagError, err.Error()
			if soft {
				// Pinned, but not in a previous layout: resolved when
				// built with the network.
				sev = hcl.DiagWarning
				detail += "; bundle build --offline would refuse it (bundle validate --offline refuses it as an error)"
			}
			dg := &hcl.Diagnostic{Severity: sev, Summary: "Cannot resolve image", Detail: detail, Subject: AttrRange(im.Body, "ref", im.DeclRange)}
			if registry.IsNetwork(err) {
				dg.Extra = EnvironmentFault{}
			}
			diags = append(diags, dg)
			continue
		}
		facts.Images[s.Name] = compiler.ImageFact{Digest: r[0].Digest, Repository: r[0].Repository, Platforms: r[0].Platforms}
		res.Images = append(res.Images, r[0])
	}
	return diags
}

// EnvironmentFault, as the Extra of an error diagnostic, says the
// environment caused it (a registry that cannot be reached), not the
// definition: the CLI exits 3 for it, as for any network failure.
type EnvironmentFault struct{}

// HasEnvironmentFault reports whether an error of diags is an
// EnvironmentFault.
func HasEnvironmentFault(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if _, ok := d.Extra.(EnvironmentFault); ok && d.Severity == hcl.DiagError {
			return true
		}
	}
	return false
}

// LocalImages reads the local image sources (oci-layout:, docker-archive:)
// of specs in full, as Gather does, and refuses them with the same
// diagnostics at the same place: a blob missing or not matching its digest,
// and, unless update, a digest other than the one the lock file pins (as
// `terraform init` refuses a provider whose checksum differs from its
// lock). A reference that does not parse is refused here too; registry
// references are left out, and so are sources that files (Files) shows
// missing (the compiler reports them).
func LocalImages(ctx context.Context, d *sitedef.Definition, files *compiler.Facts, specs []images.Spec, update bool) hcl.Diagnostics {
	byName := map[string]*sitedef.Image{}
	for _, im := range d.Images {
		byName[im.Name] = im
	}
	var diags hcl.Diagnostics
	iopts := images.Options{Offline: true, UpdateLock: update, VerifyLocal: true}
	for _, s := range specs {
		im := byName[s.Name]
		if src, err := images.ParseSource(s.Ref); err == nil && src.Kind == images.Registry {
			continue
		}
		if p, ok := compiler.ImagePath(im); ok && !files.Paths[p].Exists {
			continue
		}
		if _, err := images.Resolve(ctx, "", []images.Spec{s}, iopts); err != nil {
			diags = append(diags, errDiag(AttrRange(im.Body, "ref", im.DeclRange), "Cannot resolve image", err.Error()))
		}
	}
	return diags
}
