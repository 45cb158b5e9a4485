package cli

import (
	"fmt"
	"strings"

	"github.com/bdebundle/bundle/internal/rpmdep"
	"github.com/bdebundle/bundle/out/diff"
	"github.com/spf13/cobra"
)

func init() { register(newDiffCmd) }

func newDiffCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Release notes between two bundles: packages, images, distros, config diffs",
		Long: `diff compares two bundles (directories or archives) and prints what changed:
packages added, removed, upgraded or downgraded (by repo directory, name and
arch, in rpm version order), images whose digest changed, VM templates by name,
distro manifest entries by name as BDE keys them ("upgraded mesos 0.21.0 →
0.22.0 (cluster mesos01 moves)"), clusters and node groups by name and
Marathon apps by id, SBOM changes (licenses, suppliers, components added or
removed), and every rendered configuration file as a unified diff that
git apply and patch -p1 accept (a/ and b/ prefixes, from the bundle root).`,
		Example: `  bundle diff dist/mesos-site-2015.03.1.tar.zst dist/mesos-site-2015.04.0.tar.zst
  bundle diff old/ new/ --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Out, g.Err = escaped(g.Out), escaped(g.Err)
			d, err := diff.Compare(cmd.Context(), args[0], args[1])
			if err != nil {
				return bundleErr(err)
			}
			if g.JSON {
				return writeJSON(g, d)
			}
			printDelta(g, d)
			return nil
		},
	}
}

func printDelta(g *Globals, d *diff.Delta) {
	w := g.Out
	fmt.Fprintf(w, "%s %s -> %s %s\n", d.Old.Name, d.Old.Version, d.New.Name, d.New.Version)
	if d.Empty() {
		fmt.Fprintln(w, "\nNo changes.")
		return
	}
	if len(d.Packages) > 0 {
		fmt.Fprintln(w, "\nPackages:")
		for _, p := range d.Packages {
			switch p.Change {
			case diff.Added:
				fmt.Fprintf(w, "  + %s (%s)\n", p.New, p.Repo)
			case diff.Removed:
				fmt.Fprintf(w, "  - %s (%s)\n", p.Old, p.Repo)
			default:
				fmt.Fprintf(w, "  ~ %s.%s %s: %s -> %s (%s)\n", p.Name, p.Arch, p.Change, evr(p.Old), evr(p.New), p.Repo)
			}
		}
	}
	if len(d.Images) > 0 {
		fmt.Fprintln(w, "\nImages:")
		for _, im := range d.Images {
			fmt.Fprintf(w, "  %s %s: %s %s -> %s %s\n", im.Name, im.Change, im.OldRef, short19(im.OldDigest), im.NewRef, short19(im.NewDigest))
		}
	}
	if len(d.Templates) > 0 {
		fmt.Fprintln(w, "\nTemplates:")
		for _, t := range d.Templates {
			fmt.Fprintf(w, "  %s %s\n", t.Name, t.Change)
		}
	}
	if len(d.Distros) > 0 {
		fmt.Fprintln(w, "\nDistro manifest (by name, as BDE keys it):")
		for _, ds := range d.Distros {
			line := fmt.Sprintf("  %s %s", ds.Change, ds.Name)
			switch ds.Change {
			case diff.Upgraded, diff.Downgraded:
				line += fmt.Sprintf(" %s → %s", ds.OldVersion, ds.Version)
				if n := len(ds.Clusters); n > 0 {
					noun, verb := "cluster", "moves"
					if n > 1 {
						noun, verb = "clusters", "move"
					}
					line += fmt.Sprintf(" (%s %s %s)", noun, strings.Join(ds.Clusters, ", "), verb)
				}
			default:
				line += fmt.Sprintf(" %s %s", ds.Vendor, ds.Version)
			}
			if ds.Detail != "" {
				line += ": " + ds.Detail
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(d.Clusters) > 0 {
		fmt.Fprintln(w, "\nClusters:")
		for _, c := range d.Clusters {
			what := "cluster " + c.Cluster
			switch {
			case c.NodeGroup != "":
				what += " node group " + c.NodeGroup
			case c.App != "":
				what += " app " + c.App
			case c.Job != "":
				what += " job " + c.Job
			}
			if c.Detail != "" {
				what += ": " + c.Detail
			}
			fmt.Fprintf(w, "  %s %s\n", c.Change, what)
		}
	}
	if len(d.SBOM) > 0 {
		fmt.Fprintln(w, "\nSBOM:")
		for _, c := range d.SBOM {
			switch {
			case c.What == "added":
				fmt.Fprintf(w, "  + %s %s\n", c.Component, c.New)
			case c.What == "removed":
				fmt.Fprintf(w, "  - %s %s\n", c.Component, c.Old)
			default:
				fmt.Fprintf(w, "  ~ %s %s: %q -> %q\n", c.Component, c.What, c.Old, c.New)
			}
		}
	}
	if len(d.Files) > 0 {
		fmt.Fprintln(w, "\nConfiguration files:")
		for _, f := range d.Files {
			fmt.Fprintf(w, "  %s %s\n", f.Change, f.Path)
		}
		for _, f := range d.Files {
			if f.Diff != "" {
				fmt.Fprintln(w)
				fmt.Fprint(w, f.Diff)
			}
		}
	}
}

func evr(nevra string) string {
	if n, ok := rpmdep.ParseNEVRA(nevra); ok {
		return n.EVR()
	}
	return nevra
}

func short19(s string) string {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
