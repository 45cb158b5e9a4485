package cli

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/inspect"
	"github.com/spf13/cobra"
)

func init() { register(newInspectCmd) }

func newInspectCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect BUNDLE",
		Short: "Show what a bundle holds: repos and NEVRAs, distros, clusters, apps, images, templates",
		Long: `inspect reads bundle.json from a bundle directory or archive and shows its
repositories with their packages, the distro manifest entries, clusters with
their node groups and attributes, Marathon apps with their constraints, images
with digests and VM templates. --json prints the whole bundle.json with a
summary. inspect does not check hashes; use verify.`,
		Example: `  bundle inspect dist/mesos-site-2015.03.1.tar.zst
  bundle inspect dist/mesos-site-2015.03.1 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Out, g.Err = escaped(g.Out), escaped(g.Err)
			in, err := inspect.Bundle(cmd.Context(), args[0])
			if err != nil {
				return bundleErr(err)
			}
			if g.JSON {
				return writeJSON(g, in)
			}
			printInspection(g, in)
			return nil
		},
	}
}

func printInspection(g *Globals, in *inspect.Inspection) {
	m := in.Manifest
	w := tabwriter.NewWriter(g.Out, 2, 8, 2, ' ', 0)
	defer w.Flush()
	signed := "unsigned"
	if in.Signed {
		signed = "signed"
	}
	fmt.Fprintf(w, "Bundle %s %s (%s, %s)\n", m.Name, m.Version, in.Kind, signed)
	fmt.Fprintf(w, "  built by %s, epoch %d, definition sha256 %s\n", m.Builder, m.Epoch, short(m.DefinitionSHA256))
	fmt.Fprintf(w, "  %s, %s, from %s\n", plural(in.Files, "file"), progress.Bytes(in.Bytes), plural(len(m.Inputs), "input"))
	fmt.Fprintln(w)
	for _, r := range m.Repos {
		fmt.Fprintf(w, "repo %s %s\t%s/\t%s\n", r.Name, r.Version, r.Dir, plural(len(r.Packages), "package"))
		for _, p := range r.Packages {
			sig := "unsigned"
			if len(p.Signatures) > 0 {
				sig = strings.Join(p.Signatures, "; ")
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\n", p.NEVRA, progress.Bytes(p.Size), sig)
		}
	}
	for _, d := range m.Distros {
		fmt.Fprintf(w, "distro %s\t%s %s\troles %s\trepos %s\n", d.Name, d.Vendor, d.Version, strings.Join(d.Roles, ","), strings.Join(d.Repos, ","))
	}
	for _, c := range m.Clusters {
		fmt.Fprintf(w, "cluster %s\tdistro %s\t\n", c.Name, c.Distro)
		for _, ng := range c.NodeGroups {
			fmt.Fprintf(w, "  group %s\tx%d\t%s\t%s\n", ng.Name, ng.Instances, strings.Join(ng.Roles, ","), attrs(ng.Attributes))
		}
		for _, a := range c.Apps {
			var cons []string
			for _, c := range a.Constraints {
				cons = append(cons, strings.Join(c, ":"))
			}
			img := ""
			if a.Image != "" {
				img = "image " + a.Image
			}
			fmt.Fprintf(w, "  app %s\t%s x%d\t%s\t%s\n", a.Name, a.ID, a.Instances, strings.Join(cons, " "), img)
		}
		for _, j := range c.Jobs {
			when := j.Schedule
			if when == "" {
				when = "after " + strings.Join(j.Parents, ",")
			}
			img := ""
			if j.Image != "" {
				img = "image " + j.Image
			}
			fmt.Fprintf(w, "  job %s\t%s\t%s\n", j.Name, when, img)
		}
	}
	for _, im := range m.Images {
		fmt.Fprintf(w, "image %s\t%s\t%s\t%s\n", im.Name, im.Ref, im.Digest, strings.Join(im.Platforms, ","))
	}
	for _, t := range m.Templates {
		ova := t.OVA
		if t.Base != "" {
			ova = fmt.Sprintf("for %s/%s, from %s", t.Cluster, t.NodeGroup, t.Base)
		}
		fmt.Fprintf(w, "template %s\t%s\t%s\tovf sha256 %s\n", t.Name, t.OVF, ova, short(t.SHA256))
	}
	for _, t := range m.Targets {
		fmt.Fprintf(w, "target %s\tdatacenter %s\tdatastore %s\tfolder %s\tlibrary %s\tregistry %s\n",
			t.Name, orDash(t.Datacenter), orDash(t.Datastore), orDash(t.Folder), orDash(t.Library), orDash(t.Registry))
	}
}

func attrs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// orDash is s, or "-" when it is empty (a field the definition left unset).
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
