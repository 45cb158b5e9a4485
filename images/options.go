package images

import (
	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/progress"
)

// Options tune Lock, Resolve and Mirror.
type Options struct {
	// Options say how registries are reached (credentials, plain HTTP,
	// deadlines, workers, retries).
	registry.Options
	// Progress receives one task per image (nil = progress.Discard).
	Progress progress.Reporter
	// Offline forbids network access: registry references are refused
	// unless their pinned digest is already in the layout being replaced.
	Offline bool
	// UpdateLock accepts a registry digest that differs from Spec.Digest
	// (Mirror) and re-resolves pinned specs (Lock).
	UpdateLock bool
	// MediaTypes chooses how manifests are stored: Preserve
	// (default) or OCI.
	MediaTypes layout.MediaTypes
	// VerifyLocal makes Resolve read every blob of a local source
	// (oci-layout:, docker-archive:) and check its size and digest, as
	// Mirror does while copying: a missing or corrupt layer is then found
	// before anything is built.
	VerifyLocal bool
	// Resolved, when set, keeps what Resolve opens from registries, and
	// later Resolve calls and Mirror take a reference's manifests from it
	// instead of asking the registry again (nil = each call asks). Layers
	// of what Resolve opened are fetched with the context given to
	// Resolve, which must therefore last until Mirror is done.
	Resolved *Resolutions
}

func (o Options) withDefaults() Options {
	o.Options = o.Options.WithDefaults()
	o.Progress = progress.Or(o.Progress)
	if o.MediaTypes == "" {
		o.MediaTypes = layout.Preserve
	}
	return o
}
