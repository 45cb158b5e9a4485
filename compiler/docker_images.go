package compiler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/dockername"
	"github.com/bdebundle/bundle/out/manifest"
)

// dockerDigestPull is the first Docker that pulls by digest: Docker 1.6.0
// (April 2015) speaks the registry v2 protocol. Earlier Dockers (CentOS 6's
// EPEL docker-io 1.3.2 among them) speak only v1 and cannot pull
// <repo>@sha256:<digest>: their clusters get the images as `docker load`
// archives instead (docs/images.md).
const dockerDigestPull = "1.6.0"

// dockerLoadPlatform is the one platform an archive carries: BDE's CentOS 6
// nodes are x86_64.
const dockerLoadPlatform = "linux/amd64"

// DockerArchivesPlan lists the images delivered as `docker load` archives,
// and the cookbook attributes file the build writes with what it learns
// while writing them (each archive's sha256 and v1 image id).
type DockerArchivesPlan struct {
	// Attributes is the bundle path of that attributes file; Key the node
	// attribute it sets (node[Key][image] = {sha256, image_id, size}).
	Attributes string               `json:"attributes"`
	Key        string               `json:"key"`
	Images     []*DockerArchivePlan `json:"images"`
}

// DockerArchivePlan is one image written as a legacy `docker save` archive
// for the clusters whose Docker cannot pull by digest.
type DockerArchivePlan struct {
	Name string `json:"name"` // the image block's label
	Path string `json:"path"` // serengeti/www/docker/<name>.tar
	// Repository and Tag are what `docker load` tags the image as and what
	// the Marathon apps of those clusters name.
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	// Digest is the image's digest (the image fact: what the layout stores
	// and the site registry serves) the tag is made from; the build writes
	// the archive from the layout entry of this digest.
	Digest   string   `json:"digest"`
	Platform string   `json:"platform"`
	Clusters []string `json:"clusters"`
}

// dockerVersionFact names a cluster's Docker and what decides its version:
// the docker-io package of its repos, else the default.
func (c *compiler) dockerVersionFact(cl *sitedef.Cluster) string {
	v := c.versions(cl).Docker
	if cl.Distro == nil {
		return fmt.Sprintf("docker-io %s (the default: the cluster has no distro)", v)
	}
	if c.facts == nil || !c.scanned(cl.Distro) {
		return fmt.Sprintf("docker-io %s (the default: the repos of distro %q were not scanned)", v, cl.Distro.Name)
	}
	for _, r := range cl.Distro.Repos {
		for _, pk := range c.facts.Packages[r.Name] {
			if pk.Name == "docker-io" && pk.Version == v {
				return fmt.Sprintf("docker-io %s (package %s of repo %q)", v, pk.NEVRA.String(), r.Name)
			}
		}
	}
	return fmt.Sprintf("docker-io %s (the default: no docker-io package in the repos of distro %q)", v, cl.Distro.Name)
}

// loadsImages reports whether the cluster's Docker needs its images as
// `docker load` archives (it cannot pull by digest).
func (c *compiler) loadsImages(cl *sitedef.Cluster) bool {
	return cl != nil && !versionAtLeast(c.versions(cl).Docker, dockerDigestPull)
}

// imageDigest is the image's source digest as bare hex: from the facts, else
// from a digest reference as written, else "".
func (c *compiler) imageDigest(im *sitedef.Image) string {
	if c.facts != nil {
		if f, ok := c.facts.Images[im.Name]; ok && f.Digest != "" {
			return strings.TrimPrefix(f.Digest, "sha256:")
		}
	}
	if _, d, ok := strings.Cut(im.Ref, "@sha256:"); ok {
		return d
	}
	return ""
}

// loadRef is the reference the apps of a cluster whose Docker loads images
// name: <repository>:sha256-<digest>, the tag the archive's repositories
// file creates. It records the archive in c.archives. Without a digest
// (validate could not resolve the image) it returns the ref as written and
// plans no archive: the build, which always resolves, renders the tag.
func (c *compiler) loadRef(a *sitedef.App) string {
	im, cl := a.Image, a.Cluster
	docker := c.dockerVersionFact(cl)
	platformOK := true
	if ps := im.AllPlatforms(); len(ps) > 0 && !slices.Contains(ps, dockerLoadPlatform) {
		platformOK = false
		c.errorf(attrRange(im.Body, "platform", attrRange(im.Body, "platforms", im.DeclRange)), "Image cannot run on the cluster's Docker",
			"App %q of cluster %q runs image %q, which has no %s platform (%s). The cluster's %s cannot pull by digest, so the bundle delivers the image as a docker load archive of its %s image: add platform %q, or ship docker-io 1.6 or later.",
			a.Name, cl.Name, im.Name, dockerLoadPlatform, strings.Join(ps, ", "), docker, dockerLoadPlatform, dockerLoadPlatform)
	}
	digest := c.imageDigest(im)
	repo := im.Name
	if c.facts != nil {
		if f, ok := c.facts.Images[im.Name]; ok && f.Repository != "" {
			repo = f.Repository
		}
	}
	if digest == "" {
		return im.Ref
	}
	tag := "sha256-" + digest
	if !dockername.ValidRepository(repo) || !dockername.ValidTag(tag) {
		c.errorf(attrRange(im.Body, "ref", im.DeclRange), "Image name Docker cannot load",
			"Image %q would be loaded as %s:%s, which the cluster's %s does not accept as a repository and tag (lower-case path components; a tag of at most 128 letters, digits, '_', '.', '-').", im.Name, repo, tag, docker)
		return im.Ref
	}
	if !platformOK {
		return repo + ":" + tag
	}
	url := c.dockerURL(cl, im)
	if url == "" {
		c.errorf(attrRange(a.Body, "image", a.DeclRange), "No management server URL for the image archive",
			"The %s of cluster %q cannot pull by digest, so its nodes download image %q from the BDE management server, at the site root of the distro's yum repos; set base_url on a repo of distro %q (like https://<server>/yum/repos/<path>/<version>/).",
			docker, cl.Name, im.Name, distroName(cl))
	}
	if c.archives == nil {
		c.archives = map[string]*DockerArchivePlan{}
		c.archiveURLs = map[string]map[string]string{}
	}
	ap := c.archives[im.Name]
	if ap == nil {
		ap = &DockerArchivePlan{Name: im.Name, Path: DockerArchivePath(im.Name), Repository: repo, Tag: tag, Digest: "sha256:" + digest, Platform: dockerLoadPlatform}
		c.archives[im.Name] = ap
	}
	if !slices.Contains(ap.Clusters, cl.Name) {
		ap.Clusters = append(ap.Clusters, cl.Name)
		slices.Sort(ap.Clusters)
	}
	if c.archiveURLs[cl.Name] == nil {
		c.archiveURLs[cl.Name] = map[string]string{}
	}
	c.archiveURLs[cl.Name][im.Name] = url
	return repo + ":" + tag
}

func distroName(cl *sitedef.Cluster) string {
	if cl.Distro == nil {
		return ""
	}
	return cl.Distro.Name
}

// dockerURL is the URL of the image's archive at the site: the management
// server's www root (the base URL of the cluster's yum repos up to /yum/)
// and docker/<image>.tar; "" when no repo has a base URL under /yum/.
func (c *compiler) dockerURL(cl *sitedef.Cluster, im *sitedef.Image) string {
	if cl.Distro == nil {
		return ""
	}
	for _, r := range cl.Distro.Repos {
		if i := strings.Index(r.BaseURL, "/yum/"); i > 0 {
			return r.BaseURL[:i] + "/" + strings.TrimPrefix(DockerArchivePath(im.Name), "serengeti/www/")
		}
	}
	return ""
}

// dockerImagesData is the cookbook's list of the archives a cluster's
// mesos_docker nodes load, sorted by image name.
func (c *compiler) dockerImagesData(cl *sitedef.Cluster) []any {
	out := []any{}
	var names []string
	for n := range c.archiveURLs[cl.Name] {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ap := c.archives[n]
		out = append(out, map[string]any{"name": n, "url": c.archiveURLs[cl.Name][n], "repository": ap.Repository, "tag": ap.Tag})
	}
	return out
}

// planDockerArchives puts the archives the apps need into the plan.
func (c *compiler) planDockerArchives(p *Plan) {
	if len(c.archives) == 0 {
		return
	}
	cb := c.cookbook()
	dp := &DockerArchivesPlan{Attributes: DockerArchivesAttributesPath(cb), Key: cb + "_docker_archives"}
	for _, im := range c.d.Images {
		if ap := c.archives[im.Name]; ap != nil {
			dp.Images = append(dp.Images, ap)
		}
	}
	p.DockerArchives = dp
}

// DockerArchive is what the build learned writing one archive.
type DockerArchive struct {
	SHA256, ImageID string
	Size            int64
}

// DockerArchivesAttributes renders the cookbook attributes file of
// p.DockerArchives: node[Key][image] = {sha256, image_id, size}, which the
// docker_images recipe checks the download and the load against.
func DockerArchivesAttributes(p *Plan, written map[string]DockerArchive) ([]byte, error) {
	dp := p.DockerArchives
	data := map[string]any{}
	for _, ap := range dp.Images {
		w, ok := written[ap.Name]
		if !ok {
			return nil, fmt.Errorf("no archive was written for image %q", ap.Name)
		}
		if !manifest.IsSHA256(w.SHA256) || !manifest.IsSHA256(w.ImageID) || w.Size <= 0 {
			return nil, fmt.Errorf("image %q: invalid archive facts %+v", ap.Name, w)
		}
		data[ap.Name] = map[string]any{"sha256": w.SHA256, "image_id": w.ImageID, "size": int(w.Size)}
	}
	var b strings.Builder
	b.WriteString("#\n# Attributes:: docker_archives\n#\n")
	fmt.Fprintf(&b, "# Generated by bundle build for bundle %s %s: the docker load archives under\n", rubyComment(p.Name), rubyComment(p.Version))
	b.WriteString("# serengeti/www/docker, with the sha256 of each and the v1 image id its tag\n# names after the load.\n#\n")
	fmt.Fprintf(&b, "default[%s] = %s\n", rubyString(dp.Key), rubyLiteral(data))
	return []byte(b.String()), nil
}
