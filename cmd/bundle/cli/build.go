package cli

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/internal/inputfacts"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
)

func init() { register(newBuildCmd) }

type buildFlags struct {
	defFlags
	Out  string
	Plan bool
	Run  runFlags
}

func newBuildCmd(g *Globals) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build [PATH]",
		Short: "Build the bundle directory and archive (or print the plan)",
		Long: `build compiles the definition at PATH (default ".") and writes the bundle
directory DIR/<name>-<version>/ and its archive. With --plan it prints what the
bundle will contain, and from which inputs, without writing anything.`,
		Example: `  bundle build examples/mesos-site --plan
  bundle build examples/mesos-site --plan --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Progress from the first moment: loading the definition and
			// scanning its RPMs are shown too, not only the build.
			// A bad --volume-size is refused before anything starts.
			var volSize int64
			if f.Run.VolumeSize != "" {
				var err error
				if volSize, err = parseVolumeSize(f.Run.VolumeSize); err != nil {
					return err
				}
			}
			var rep reporter = nopReporter{}
			if !f.Plan {
				rep = newReporter(g)
			}
			jr, _ := rep.(*jsonReporter)
			if jr != nil {
				// The event stream on stderr is NDJSON throughout: log
				// records (warnings, -v's debug records) too, a warning
				// as a "warning" event.
				g.Log = slog.New(newEventLogHandler(g.Err, logLevel(g), "build"))
				slog.SetDefault(g.Log)
				jr.emit(progressEvent{Event: "start", Step: "build"})
			}
			mode := pipeline.ModeBuild
			if f.Plan {
				mode = pipeline.ModeCheck
			}
			req := pipeline.BuildRequest{
				CompileRequest: pipeline.CompileRequest{Path: pathArg(args), Load: f.options(), Mode: mode, Offline: f.Run.Offline, OutDir: f.Out,
					UpdateLock: f.Run.UpdateLock, Insecure: f.Run.Insecure, RegistryTimeout: f.Run.Timeout, CacheDir: f.Run.CacheDir, NoCache: f.Run.NoCache, Progress: rep},
				Format: f.Run.Format, SignKey: f.Run.SignKey, SignRepos: f.Run.SignRepos, NoArchive: f.Run.NoArchive, NoHardLinks: f.Run.NoHardLinks,
				BuilderVersion: Version,
				// Diagnostics are said as soon as the definition is
				// compiled, before the build's progress.
				Compiled: func(c *pipeline.Compiled, diags hcl.Diagnostics) {
					if jr != nil {
						jr.diagnostics("compile", toJSONDiags(diags))
						if diags.HasErrors() {
							jr.emit(progressEvent{Event: "error", Step: "build", Error: "the definition has errors"})
						}
					}
					if diags.HasErrors() {
						rep.Close()
						if g.JSON {
							_ = writeJSON(g, map[string]any{"diagnostics": toJSONDiags(diags)})
						}
					}
					printDiags(g, c.Def.Sources(), diags)
				},
			}
			req.VolumeSize, req.Base = volSize, f.Run.Base
			if f.Run.SignKey != "" {
				req.SignPassphrase = []byte(os.Getenv("BUNDLE_SIGN_PASSPHRASE"))
			}
			res, err := pipeline.Build(cmd.Context(), req)
			if diags := res.Diagnostics; diags.HasErrors() {
				if inputfacts.HasEnvironmentFault(diags) {
					return &exitError{code: ExitEnv} // a registry that cannot be reached
				}
				return &exitError{code: ExitUser}
			}
			if f.Plan {
				if g.JSON {
					return writeJSON(g, res.Compiled.Plan)
				}
				printPlan(g, res.Compiled.Plan)
				return nil
			}
			err = reportBuild(cmd, g, &f, res, err, rep)
			if err != nil && jr != nil {
				jr.emit(progressEvent{Event: "error", Step: "build", Error: err.Error()})
			}
			return err
		},
	}
	addDefFlags(cmd, &f.defFlags)
	cmd.Flags().StringVarP(&f.Out, "output", "o", "dist", "directory to write the bundle and archive into")
	cmd.Flags().BoolVar(&f.Plan, "plan", false, "print the plan; write nothing")
	addRunFlags(cmd, &f.Run)
	return cmd
}

func printPlan(g *Globals, p *compiler.Plan) {
	w := tabwriter.NewWriter(g.Out, 2, 8, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "Bundle %s (epoch %d, definition sha256 %s)\n\n", p.Dir(), p.Epoch, p.DefinitionDigest[:12])
	var total int64
	for _, r := range p.Repos {
		var size int64
		for _, in := range r.Packages {
			size += in.Size
		}
		total += size
		fmt.Fprintf(w, "repo %s %s\t%d RPMs\t%s\t-> %s/\n", r.Name, r.Version, len(r.Packages), progress.Bytes(size), r.Dir)
	}
	for _, ds := range p.Distros {
		fmt.Fprintf(w, "distro %s\t%s %s\troles %v\n", ds.Name, ds.Vendor, ds.Version, ds.Roles)
	}
	for _, c := range p.Clusters {
		for _, ng := range c.NodeGroups {
			fmt.Fprintf(w, "cluster %s/%s\t%d x %d CPU %d MB\t%v\n", c.Name, ng.Name, ng.Instances, ng.CPU, ng.MemoryMB, ng.Roles)
		}
	}
	for _, a := range p.Apps {
		fmt.Fprintf(w, "app %s\t%s x%d\t%v\n", a.Name, a.ID, a.Instances, a.Constraints)
	}
	for _, im := range p.Images {
		fmt.Fprintf(w, "image %s\t%s\t%v\n", im.Name, im.Written, im.Platforms)
	}
	if da := p.DockerArchives; da != nil {
		for _, a := range da.Images {
			fmt.Fprintf(w, "docker load %s\t%s:%s for %s\t-> %s\n", a.Name, a.Repository, a.Tag, strings.Join(a.Clusters, ","), a.Path)
		}
	}
	for _, t := range p.Templates {
		var size int64
		for _, in := range t.Disks {
			size += in.Size
		}
		total += size
		fmt.Fprintf(w, "template %s\t%s %d CPU %d MB\t%s of disks\n", t.Name, t.GuestOS, t.CPU, t.MemoryMB, progress.Bytes(size))
		for _, d := range t.Derived {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(d.Properties)) {
				kv = append(kv, k+"="+d.Properties[k])
			}
			fmt.Fprintf(w, "template %s\tfor %s/%s, from %s\t%s\n", d.Name, d.Cluster, d.NodeGroup, t.Name, strings.Join(kv, " "))
		}
	}
	w.Flush()
	w = tabwriter.NewWriter(g.Out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w)
	for _, f := range p.Files {
		note := ""
		if f.Sensitive {
			note = " (holds sensitive values)"
		}
		fmt.Fprintf(w, "file %s\t%d bytes%s\n", f.Path, f.Size, note)
	}
	templates := len(p.Templates)
	for _, t := range p.Templates {
		templates += len(t.Derived)
	}
	fmt.Fprintf(w, "\n%s, %s, %s, %s, %s of inputs\n", plural(len(p.Repos), "repo"), plural(len(p.Images), "image"), plural(templates, "template"), plural(len(p.Files), "rendered file"), progress.Bytes(total))
}
