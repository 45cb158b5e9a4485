package cli

import (
	"fmt"

	"github.com/bdebundle/bundle/compiler"
	def "github.com/bdebundle/bundle/hcl"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newLockCmd) }

func newLockCmd(g *Globals) *cobra.Command {
	var f defFlags
	var update bool
	var insecure []string
	cmd := &cobra.Command{
		Use:   "lock [PATH]",
		Short: "Pin every image of the definition to a digest in bundle.lock.hcl",
		Long: `lock resolves every image block's reference (registry tag, oci-layout or
docker-archive) to the digest it names now and writes bundle.lock.hcl beside
the definition. Entries already pinned keep their digest unless --update is
given. bundle build uses the lock and refuses a reference whose digest changed
unless it is given --update-lock.`,
		Example: `  bundle lock examples/mesos-site
  bundle lock . --update`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := pathArg(args)
			d, diags := def.Load(path, f.options())
			if diags.HasErrors() {
				printDiags(g, d.Sources(), diags)
				return &exitError{code: ExitUser}
			}
			_, cds := compiler.Compile(d, nil)
			if cds.HasErrors() {
				printDiags(g, d.Sources(), cds)
				return &exitError{code: ExitUser}
			}
			specs, lds := pipeline.ImageSpecs(d)
			if lds.HasErrors() {
				printDiags(g, d.Sources(), lds)
				return &exitError{code: ExitUser}
			}
			locked, err := images.Lock(cmd.Context(), specs, images.Options{UpdateLock: update, Insecure: insecure})
			if err != nil {
				return envErr(err)
			}
			written := map[string]string{}
			for _, im := range d.Images {
				written[im.Name] = im.Ref
			}
			for i := range locked {
				locked[i].Ref = written[locked[i].Name] // as written: no host paths in the lock
			}
			lockPath := pipeline.LockPath(path)
			if err := images.WriteLock(lockPath, locked); err != nil {
				return envErr(err)
			}
			if g.JSON {
				type entry struct {
					Name, Ref, Digest string
					Platforms         []string
				}
				var out []entry
				for _, l := range locked {
					out = append(out, entry{l.Name, l.Ref, l.Digest, l.Platforms})
				}
				return writeJSON(g, map[string]any{"lock_file": lockPath, "images": out})
			}
			for _, l := range locked {
				fmt.Fprintf(g.Out, "image %s\t%s\t%s\n", l.Name, l.Ref, l.Digest)
			}
			fmt.Fprintf(g.Out, "Wrote %s (%d images).\n", lockPath, len(locked))
			return nil
		},
	}
	addDefFlags(cmd, &f)
	cmd.Flags().BoolVar(&update, "update", false, "re-resolve entries that are already pinned")
	cmd.Flags().StringSliceVar(&insecure, "insecure-registry", nil, "registry host:port reached over plain HTTP")
	return cmd
}
