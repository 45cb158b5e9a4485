package manifest

// The bundle's top-level directories. The compiler decides every path a
// bundle holds from these names (compiler/layout.go) and the readers and the
// deployer find the parts of a built bundle by them, so each name is written
// once, here.
const (
	// YumDir holds the repositories, their .repo files and GPG keys.
	YumDir = "serengeti/www/yum"
	// ImagesDir is the OCI image layout of the bundle's container images.
	ImagesDir = "images"
	// OVFDir holds one directory per VM template and each template's .ova.
	OVFDir = "ovf"
	// DockerDir holds the docker load archives of clusters whose Docker
	// cannot pull by digest: under serengeti/www, so the management server
	// serves them at https://<server>/docker/.
	DockerDir = "serengeti/www/docker"
)

// BundleDir is a bundle's directory name (and its archive's top
// directory): <name>-<version>.
func BundleDir(name, version string) string { return name + "-" + version }

// VerifyError is a bundle that does not verify, or is not a bundle: its
// contents contradict bundle.json, or bundle.json itself is unreadable or
// malformed. A bundle that does not verify is never deployed or pushed.
type VerifyError struct {
	Path string // the bundle directory or archive
	Err  error
}

func (e *VerifyError) Error() string {
	return "bundle " + e.Path + " does not verify: " + e.Err.Error()
}

func (e *VerifyError) Unwrap() error { return e.Err }
