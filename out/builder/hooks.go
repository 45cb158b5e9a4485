package builder

import (
	"context"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/bdebundle/bundle/out/manifest"
)

// RepoWriter writes a yum repository's metadata. Build calls it once per
// repo after the repo's RPMs are placed in repoDir (the staging path of
// RepoPlan.Dir); it writes repodata/ there and returns what bundle.json
// records.
type RepoWriter interface {
	WriteRepo(ctx context.Context, repoDir string, rp *compiler.RepoPlan) (*RepoInfo, error)
}

// RepoInfo is what a RepoWriter learned about a repository.
type RepoInfo struct {
	// Packages are the RPMs of the repo; Location is relative to repoDir.
	// Build fills in their size and sha256.
	Packages []PackageInfo
	// RepoFile is the content of the yum .repo file, written to
	// RepoPlan.RepoFile unless the plan or the writer already put a file there.
	RepoFile []byte
}

// PackageInfo names one RPM of a repository.
type PackageInfo struct {
	NEVRA    string // name-[epoch:]version-release.arch
	Location string // relative to the repo dir
	// RPM holds what the package's header says, for the SBOM; nil means
	// only the NEVRA is known.
	RPM *RPMFacts
	// Signatures describes the package's OpenPGP signatures
	// (rpm.Package.SignatureSummary); empty when unsigned.
	Signatures []string
}

// RPMFacts are the header facts of one RPM that the SBOM records.
type RPMFacts struct {
	rpmdep.NEVRA
	License, Vendor, Packager, SourceRPM string
	// Namespace names the RPM's purl namespace when it has no Vendor: the
	// distro (or repo) it ships in.
	Namespace string
	// Requires are the bundle paths of the bundle's RPMs that satisfy the
	// package's requirements.
	Requires []string
}

// ImageWriter writes the container images of the plan as one OCI image
// layout into layoutDir (the staging path of Plan.ImageLayout).
type ImageWriter interface {
	WriteImages(ctx context.Context, layoutDir string, images []*compiler.ImagePlan) ([]manifest.ImageInfo, error)
}

// TemplateWriter writes one VM template at the paths its plan names, under
// root (the staging directory): Build has placed the template's disks at
// their Dest in tp.Dir; the writer adds tp.OVFPath and tp.MFPath beside them,
// each derived template's OVFPath and MFPath, and tp.OVAPath. It writes in
// place: Build's staging directory is what makes the bundle atomic.
type TemplateWriter interface {
	WriteTemplate(ctx context.Context, root string, tp *compiler.TemplatePlan) error
}
