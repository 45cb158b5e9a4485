package compiler

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/hashicorp/hcl/v2"
)

// An upgrade, as BDE sees it (serengeti-ws ClusterManager): a cluster's
// distro *name* is fixed when the cluster is created, and every Chef run
// reads that name's package_repos from www/distros/manifest. So the entry
// of a running cluster's name is updated in place to move the cluster, and
// an older version that stays available is an entry of another name with
// its own .repo file and repo directory. The checks here hold a release to
// that: the site's manifest (the upgrade block) says what runs now, each
// cluster's running block which entry and version it runs.

// oldEntry is one entry of the site's manifest, with its raw JSON kept so
// an entry the release keeps as it is is written back byte for byte.
type oldEntry struct {
	manifestDistro
	raw json.RawMessage
}

// siteManifest returns the entries of the upgrade block's manifest and
// whether it was read. It is read once; what is wrong with it is kept in
// c.oldFault, which checkSiteManifest calls to report it.
func (c *compiler) siteManifest() ([]oldEntry, bool) {
	if c.oldDone {
		return c.oldEntries, c.oldOK
	}
	c.oldDone = true
	u := c.d.Upgrade
	if u == nil || c.facts == nil {
		return nil, false
	}
	rng := c.upgradeRange()
	fault := func(report func()) ([]oldEntry, bool) {
		c.oldFault = report
		return nil, false
	}
	data, ok := c.facts.Manifests[u.Manifest]
	if !ok {
		return fault(func() {
			c.errorf(rng, "Manifest not read", "The site's manifest %q was not read before compiling.", u.Manifest)
		})
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return fault(func() {
			c.errorf(rng, "Invalid manifest", "The site's manifest %q is not a JSON array of distros (BDE's www/distros/manifest): %v.", u.Manifest, err)
		})
	}
	seen := map[string]bool{}
	for i, raw := range raws {
		var e oldEntry
		if err := json.Unmarshal(raw, &e.manifestDistro); err != nil || e.Name == "" {
			return fault(func() {
				c.errorf(rng, "Invalid manifest entry", "Entry %d of the site's manifest %q is not a distro with a name (BDE's Distro: name, vendor, version, packages).", i+1, u.Manifest)
			})
		}
		if seen[e.Name] {
			return fault(func() {
				c.errorf(rng, "Duplicate manifest entry", "The site's manifest %q has two entries named %q; BDE keys distros by name, so which one a cluster uses is undefined. Fix that file first.", u.Manifest, e.Name)
			})
		}
		seen[e.Name] = true
		e.raw = raw
		c.oldEntries = append(c.oldEntries, e)
	}
	c.oldOK = true
	return c.oldEntries, true
}

// checkSiteManifest reports what is wrong with the site's manifest.
func (c *compiler) checkSiteManifest() {
	if c.siteManifest(); c.oldFault != nil {
		c.oldFault()
	}
}

// upgradeRange is where diagnostics about the site's manifest point: the
// upgrade block's manifest attribute.
func (c *compiler) upgradeRange() hcl.Range {
	u := c.d.Upgrade
	return attrRange(u.Body, "manifest", u.DeclRange)
}

// oldEntryNamed returns the site manifest's entry called name.
func (c *compiler) oldEntryNamed(name string) (oldEntry, bool) {
	olds, _ := c.siteManifest()
	for _, o := range olds {
		if o.Name == name {
			return o, true
		}
	}
	return oldEntry{}, false
}

// checkReplacedAttrs refuses the distro attributes an upgrade was once
// written with: keep copied the old entry under the name the release
// updates (so installing the "kept" version installed the new one), and
// manifest belonged to the site rather than to one distro.
func (c *compiler) checkReplacedAttrs(ds *sitedef.Distro) {
	if len(ds.Keep) > 0 {
		c.errorf(attrRange(ds.Body, "keep", ds.DeclRange), "keep is replaced",
			"keep no longer exists: an entry kept under the name of distro %q would point at the .repo file this release rewrites for %s. Declare each kept version as a distro block of its own name (like \"%s-%s\") with a repo of its own (its own version directory and .repo file), and say which clusters run what with a running block in each cluster (docs/upgrade.md).",
			ds.Name, ds.Version, ds.Name, strings.ReplaceAll(firstOr(ds.Keep, "0.21.0"), ".", ""))
	}
	if ds.Manifest != "" {
		c.errorf(attrRange(ds.Body, "manifest", ds.DeclRange), "manifest is replaced",
			"A distro no longer takes a manifest: name the site's manifest once, in an upgrade block (upgrade { manifest = %q }); its entries are updated in place by the distro blocks of the same name and kept as they are otherwise (docs/upgrade.md).", ds.Manifest)
	}
}

func firstOr(xs []string, d string) string {
	if len(xs) > 0 {
		return xs[0]
	}
	return d
}

// checkSharedRepos refuses two distros of different versions that name
// the same repo: both entries would point at its one .repo file, so
// installing one version would install the other's packages.
func (c *compiler) checkSharedRepos() {
	users := map[*sitedef.Repo]*sitedef.Distro{}
	for _, ds := range c.d.Distros {
		for _, r := range ds.Repos {
			prev, ok := users[r]
			if !ok {
				users[r] = ds
				continue
			}
			if prev.Version != ds.Version {
				c.errorf(attrRange(ds.Body, "repos", ds.DeclRange), "Repo shared by two versions",
					"Distro %q (%s) and distro %q (%s, declared at %s) both use repo %q, so both manifest entries point at %s.repo: installing one version would install the packages of the other. Give each version a repo of its own (its own version directory and .repo file).",
					ds.Name, ds.Version, prev.Name, prev.Version, prev.DeclRange, r.Name, r.Name)
			}
		}
	}
}

// keptEntries returns the site manifest's entries that no distro block
// names: the release writes them back as they are (checkKeptEntries checks
// them).
func (c *compiler) keptEntries() []oldEntry {
	olds, ok := c.siteManifest()
	if !ok {
		return nil
	}
	var kept []oldEntry
	for _, o := range olds {
		if !slices.ContainsFunc(c.d.Distros, func(ds *sitedef.Distro) bool { return ds.Name == o.Name }) {
			kept = append(kept, o)
		}
	}
	return kept
}

// checkKeptEntries checks the entries the release keeps: a package_repos
// URL this release writes for another version would make it install that
// version.
func (c *compiler) checkKeptEntries(repos map[*sitedef.Repo]*RepoPlan) {
	writer := map[string]*sitedef.Distro{} // .repo URL -> the distro of this release using it
	for _, ds := range c.d.Distros {
		for _, r := range ds.Repos {
			if rp := repos[r]; rp != nil && rp.RepoURL != "" {
				writer[rp.RepoURL] = ds
			}
		}
	}
	u := c.d.Upgrade
	for _, o := range c.keptEntries() {
		for _, pk := range o.Packages {
			for _, url := range pk.PackageRepos {
				ds := writer[url]
				if ds == nil || ds.Version == o.Version {
					continue
				}
				c.errorf(c.upgradeRange(), "Kept entry would install another version",
					"The entry %q (%s %s) of the site's manifest %s is kept as it is, but it points at %s, which this release writes for distro %q %s (declared at %s): installing %q would install %s. Declare %q as a distro block of its own with a repo of its own for %s (its own version directory and .repo file), or rename the repo of distro %q.",
					o.Name, o.Vendor, o.Version, u.Manifest, url, ds.Name, ds.Version, ds.DeclRange, o.Name, ds.Version, o.Name, o.Version, ds.Name)
			}
		}
	}
}

// checkDistroMoves compares each distro block with the entry of its name in
// the site's manifest: the same name is updated in place, so its vendor
// cannot change (BDE keeps the cluster's vendor) and every cluster created
// on it moves to the new version.
func (c *compiler) checkDistroMoves(ds *sitedef.Distro) {
	o, ok := c.oldEntryNamed(ds.Name)
	if !ok {
		return
	}
	if o.Vendor != ds.Vendor {
		c.errorf(attrRange(ds.Body, "vendor", ds.DeclRange), "Vendor of a running distro changed",
			"The site's manifest %s has distro %q with vendor %q; this release gives it vendor %q. BDE keeps a cluster's vendor from its creation: clusters created on %q would no longer match their entry. Keep the vendor, or declare the new vendor under a new distro name.",
			c.d.Upgrade.Manifest, ds.Name, o.Vendor, ds.Vendor, ds.Name)
	}
}

// checkRunning checks a cluster that runs on the site: BDE fixed its distro
// name at creation, so the cluster's distro block must be the entry of that
// name (updated in place to move it), and the site's manifest must say it
// runs the version the running block says.
func (c *compiler) checkRunning(cl *sitedef.Cluster) {
	run := cl.Running
	if run == nil {
		if ds := cl.Distro; ds != nil && c.d.Upgrade != nil {
			if o, ok := c.oldEntryNamed(ds.Name); ok && o.Version != ds.Version {
				c.warnf(cl.DeclRange, "Cluster moves without a running block",
					"Distro %q goes from %s (the site's manifest %s) to %s, so every cluster created on it moves on its next Chef run. If cluster %q runs on the site, say so with running { distro = %q, version = %q } so that deploy re-runs Chef on it (cluster config).",
					ds.Name, o.Version, c.d.Upgrade.Manifest, ds.Version, cl.Name, ds.Name, o.Version)
			}
		}
		return
	}
	rng := run.DeclRange
	if !validDotted(run.Version) {
		c.errorf(attrRange(run.Body, "version", rng), "Invalid running version", "The version %q must be dotted numbers like 0.21.0.", run.Version)
	}
	ds := cl.Distro
	if ds == nil {
		return
	}
	if run.Distro != ds.Name {
		c.errorf(attrRange(run.Body, "distro", rng), "Running cluster cannot change distro",
			"Cluster %q was created on distro %q, and BDE fixes a cluster's distro name for its life; it cannot move to distro %q (declared at %s). To upgrade it, update the entry %q in place: name the distro block of the new version %q, and keep the old version under another name if it must stay available.",
			cl.Name, run.Distro, ds.Name, ds.DeclRange, run.Distro, run.Distro)
		return
	}
	if c.d.Upgrade == nil {
		return
	}
	o, ok := c.oldEntryNamed(run.Distro)
	if _, read := c.siteManifest(); !read {
		return
	}
	switch {
	case !ok:
		c.errorf(attrRange(run.Body, "distro", rng), "Running distro not on the site",
			"Cluster %q runs on distro %q, but the site's manifest %s has no entry of that name: BDE could not have created the cluster on it. Name the entry the cluster was created on (the manifest has %s).",
			cl.Name, run.Distro, c.d.Upgrade.Manifest, quotedNames(c.oldEntries))
	case o.Version != run.Version:
		c.errorf(attrRange(run.Body, "version", rng), "Running version differs from the site",
			"Cluster %q runs on distro %q, which the site's manifest %s has at version %s, not %s: the running block must say what the site runs now.",
			cl.Name, run.Distro, c.d.Upgrade.Manifest, o.Version, run.Version)
	}
}

func quotedNames(es []oldEntry) string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%q", e.Name))
	}
	if len(out) == 0 {
		return "no entries"
	}
	return strings.Join(out, ", ")
}
