package compiler

import (
	"fmt"
	"path"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/vmtemplate"
	"github.com/bdebundle/bundle/out/manifest"
)

// The bundle's layout. Every path a bundle holds is decided in this file (the
// rendered text files name theirs in Plan.Files) and carried in the Plan, so
// builder.Build, pipeline's writers and `build --plan --json` take paths from the
// Plan instead of inventing them.
//
// Adding a destination is one change here: give it a path (a constant or a
// function below), a field on the part of the Plan that owns it with a json
// tag (so `build --plan --json` shows it), and set that field where the
// part is planned; the executor then writes to the path the Plan names.

// DockerArchivePath is the bundle path of an image's docker load archive.
func DockerArchivePath(image string) string { return manifest.DockerDir + "/" + image + ".tar" }

// DockerArchivesAttributesPath is the cookbook attributes file the build
// writes with each docker load archive's sha256 and image id.
func DockerArchivesAttributesPath(cookbook string) string {
	return CookbooksDir + cookbook + "/attributes/docker_archives.rb"
}

func repoDir(path, version string) string { return manifest.YumDir + "/repos/" + path + "/" + version }

func repoFilePath(name string) string { return manifest.YumDir + "/" + name + ".repo" }

func gpgKeyPath(base string) string { return manifest.YumDir + "/keys/" + base }

// NewTemplatePlan returns the plan of template name with its destinations:
// ovf/<name>/<name>.ovf and .mf, the disks beside them, ovf/<name>.ova.
func NewTemplatePlan(name string) *TemplatePlan {
	dir := manifest.OVFDir + "/" + name
	return &TemplatePlan{Name: name, Dir: dir, OVFPath: dir + "/" + name + ".ovf", MFPath: dir + "/" + name + ".mf",
		OVAPath: manifest.OVFDir + "/" + name + ".ova"}
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

// repodataDir is what the repo writer adds to each repo directory.
const repodataDir = "repodata"

// checkLayout refuses a plan in which two inputs would land on one bundle
// path, or an input on a path a writer fills: the executor refuses such a
// plan too, but only once it runs; here the error is a diagnostic at the
// attribute that placed the input, so validate reports it first.
func (c *compiler) checkLayout(p *Plan, repos map[*sitedef.Repo]*RepoPlan) {
	type claim struct {
		src, what string
	}
	claimed := map[string]claim{}
	for _, f := range p.Files {
		claimed[f.Path] = claim{what: "the rendered file " + f.Path}
	}
	dirs := map[string]*sitedef.Repo{}
	for _, r := range c.d.Repos {
		rp := repos[r]
		if rp == nil {
			continue
		}
		if prev, ok := dirs[rp.Dir]; ok {
			c.errorf(attrRange(r.Body, "version", r.DeclRange), "Duplicate repo directory",
				"repo %q and repo %q both write %s/ (path %q, version %q): each would overwrite the other's repodata. Give one another path or version.", prev.Name, r.Name, rp.Dir, r.RepoPath(), r.Version)
			continue
		}
		dirs[rp.Dir] = r
		for _, in := range rp.Packages {
			if path.Base(in.Dest) == repodataDir {
				c.errorf(attrRange(r.Body, "packages", r.DeclRange), "Reserved package file name",
					"The package file %s is named %q, which is the directory the repository's metadata is written to; rename the file.", in.Src, repodataDir)
			}
		}
		for _, k := range rp.GPGKeys {
			if prev, ok := claimed[k.Dest]; ok && prev.src != k.Src {
				c.errorf(attrRange(r.Body, "gpg_keys", r.DeclRange), "Duplicate key file name",
					"The GPG key %s of repo %q and %s both go to %s (keys are stored by file name); rename one of them.", k.Src, r.Name, prev.what, k.Dest)
				continue
			}
			claimed[k.Dest] = claim{src: k.Src, what: fmt.Sprintf("the GPG key %s of repo %q", k.Src, r.Name)}
		}
	}
}
