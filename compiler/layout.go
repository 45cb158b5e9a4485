package compiler

import "github.com/bdebundle/bundle/internal/vmtemplate"

// The bundle's layout. Every path a bundle holds is decided in this file (the
// rendered text files name theirs in Plan.Files) and carried in the Plan, so
// out.Build, pipeline's writers and `build --plan --json` take paths from the
// Plan instead of inventing them.
//
// Adding a destination is one change here: give it a path (a constant or a
// function below), a field on the part of the Plan that owns it with a json
// tag (so `build --plan --json` shows it), and set that field where the
// part is planned; the executor then writes to the path the Plan names.
const (
	// YumDir holds the repositories, their .repo files and GPG keys.
	YumDir = "serengeti/www/yum"
	// ImagesDir is the OCI image layout of the bundle's container images.
	ImagesDir = "images"
	// OVFDir holds one directory per VM template and each template's .ova.
	OVFDir = "ovf"
)

// BundleDir is the bundle's directory name: <name>-<version>.
func BundleDir(name, version string) string { return name + "-" + version }

func repoDir(path, version string) string { return YumDir + "/repos/" + path + "/" + version }

func repoFilePath(name string) string { return YumDir + "/" + name + ".repo" }

func gpgKeyPath(base string) string { return YumDir + "/keys/" + base }

// NewTemplatePlan returns the plan of template name with its destinations:
// ovf/<name>/<name>.ovf and .mf, the disks beside them, ovf/<name>.ova.
func NewTemplatePlan(name string) *TemplatePlan {
	dir := OVFDir + "/" + name
	return &TemplatePlan{Name: name, Dir: dir, OVFPath: dir + "/" + name + ".ovf", MFPath: dir + "/" + name + ".mf",
		OVAPath: OVFDir + "/" + name + ".ova"}
}

// diskPath is the destination of disk i of the template.
func (tp *TemplatePlan) diskPath(i int) string {
	return tp.Dir + "/" + vmtemplate.DiskFileName(tp.Name, i)
}

// newDerived returns a derived template of tp named name with its
// destinations: another .ovf and .mf in tp's directory (sharing its disks,
// no .ova of its own).
func (tp *TemplatePlan) newDerived(name string) *DerivedTemplate {
	return &DerivedTemplate{Name: name, OVFPath: tp.Dir + "/" + name + ".ovf", MFPath: tp.Dir + "/" + name + ".mf"}
}
