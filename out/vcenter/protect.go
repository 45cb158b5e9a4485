package vcenter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/vim25/soap"
)

// The BDE distro manifest and the yum tree as a bundle lays them out (see
// compiler/layout.go); a manifest entry's package_repos are URLs of .repo
// files under the site's /yum/, each naming its repo directory in baseurl.
const (
	distroManifest = "serengeti/www/distros/manifest"
	wwwDir         = "serengeti/www/"
)

// keptByManifest returns what the bundle's distro manifest points at on the
// datastore: each entry's .repo files and the repo directories their
// baseurl lines name. Deploy never deletes these, even when the bundle no
// longer carries them: a kept or running entry whose packages were
// uploaded by an earlier release keeps them. A .repo file the bundle does
// not carry is read from the datastore.
func (p *DeployPlan) keptByManifest(ctx context.Context) (files map[string]bool, dirs []string) {
	files = map[string]bool{}
	data, err := os.ReadFile(filepath.Join(p.b.Dir, filepath.FromSlash(distroManifest)))
	if err != nil {
		return files, nil
	}
	var entries []struct {
		Packages []struct {
			PackageRepos []string `json:"package_repos"`
		} `json:"packages"`
	}
	if json.Unmarshal(data, &entries) != nil {
		return files, nil
	}
	for _, e := range entries {
		for _, pk := range e.Packages {
			for _, u := range pk.PackageRepos {
				rel, ok := yumPath(u)
				if !ok {
					continue
				}
				files[rel] = true
				for _, base := range p.repoBaseURLs(ctx, rel) {
					if d, ok := yumPath(base); ok {
						dirs = append(dirs, strings.TrimSuffix(d, "/")+"/")
					}
				}
			}
		}
	}
	return files, dirs
}

// yumPath maps a URL the site serves from /opt/serengeti/www (…/yum/x) to
// its bundle path (serengeti/www/yum/x).
func yumPath(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	i := strings.Index(u.Path, "/yum/")
	if i < 0 {
		return "", false
	}
	rel := path.Clean(wwwDir + u.Path[i+1:])
	if !strings.HasPrefix(rel, wwwDir+"yum/") {
		return "", false
	}
	return rel, true
}

// repoBaseURLs reads the baseurl lines of the .repo file at rel: from the
// bundle when it carries it, else from the datastore.
func (p *DeployPlan) repoBaseURLs(ctx context.Context, rel string) []string {
	data, err := os.ReadFile(filepath.Join(p.b.Dir, filepath.FromSlash(rel)))
	if err != nil {
		r, _, derr := p.inv.ds.Download(ctx, path.Join(p.DatastorePath, rel), &soap.DefaultDownload)
		if derr != nil {
			return nil
		}
		data, _ = io.ReadAll(io.LimitReader(r, 1<<20))
		r.Close()
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.TrimSpace(k) == "baseurl" {
			out = append(out, strings.Fields(v)...)
		}
	}
	return out
}
