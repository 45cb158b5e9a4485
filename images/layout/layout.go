package layout

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations written on every entry of the layout's index.json.
const (
	// AnnotationRefName is the OCI ref name: the spec name, so that
	// `skopeo inspect oci:DIR:NAME` finds the image.
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationName is the spec name (the `image` block label).
	AnnotationName = "io.github.bdebundle.image.name"
	// AnnotationRepository is the repository path at the site registry.
	AnnotationRepository = "io.github.bdebundle.image.repository"
	// AnnotationTag is the source tag, pushed to the site registry too.
	AnnotationTag = "io.github.bdebundle.image.tag"
	// AnnotationSource is the registry reference, or kind:basename for a
	// local source (never an absolute path).
	AnnotationSource = "io.github.bdebundle.image.source"
	// AnnotationSourceDigest is the digest the source resolved to (the one
	// the lock file pins); it differs from the entry's digest when a platform
	// was selected.
	AnnotationSourceDigest = "io.github.bdebundle.image.source-digest"
	// AnnotationPlatforms is the comma-separated list of requested platforms.
	AnnotationPlatforms = "io.github.bdebundle.image.platforms"
	// AnnotationMediaTypes is set to "oci" when Docker media types were
	// rewritten (MediaTypes OCI).
	AnnotationMediaTypes = "io.github.bdebundle.image.media-types"
)

// MediaTypes says how the manifests of a layout entry are stored (the
// entry's AnnotationMediaTypes).
type MediaTypes string

const (
	// Preserve stores manifests and indexes byte for byte as the source
	// serves them, so digests at the site registry equal the upstream ones.
	Preserve MediaTypes = "preserve"
	// OCI rewrites Docker media types (schema 2 manifests, manifest lists,
	// their configs and layers) to the OCI equivalents; blobs keep their
	// bytes, the manifests and so their digests change. Readers of OCI
	// layouts that accept only OCI media types (skopeo's oci: transport)
	// need this.
	OCI MediaTypes = "oci"
)

// Check refuses a mode other than Preserve and OCI.
func (m MediaTypes) Check() error {
	if m != Preserve && m != OCI {
		return fmt.Errorf("unknown media type mode %q: want %q or %q", string(m), Preserve, OCI)
	}
	return nil
}

// CheckConfigSize refuses a manifest whose config descriptor claims more
// than MaxConfigSize: the config is read into memory.
func CheckConfigSize(m *v1.Manifest) error {
	if m.Config.Size < 0 || m.Config.Size > MaxConfigSize {
		return fmt.Errorf("config %s: %w: the descriptor says %d bytes, the limit for a config is %d", m.Config.Digest, ErrTooLarge, m.Config.Size, MaxConfigSize)
	}
	return nil
}

// WriteIndex writes index.json (entries sorted by name) and oci-layout.
func WriteIndex(dir string, descs []v1.Descriptor) error {
	descs = slices.Clone(descs)
	sort.Slice(descs, func(i, j int) bool {
		return descs[i].Annotations[AnnotationName] < descs[j].Annotations[AnnotationName]
	})
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs}
	if im.Manifests == nil {
		im.Manifests = []v1.Descriptor{}
	}
	b, err := json.MarshalIndent(im, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing index.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing oci-layout: %w", err)
	}
	return nil
}
