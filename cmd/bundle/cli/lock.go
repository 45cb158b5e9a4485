package cli

import (
	"fmt"
	"time"

	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newLockCmd) }

func newLockCmd(g *Globals) *cobra.Command {
	var f defFlags
	var update bool
	var insecure []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "lock [PATH]",
		Short: "Pin every image of the definition to a digest in bundle.lock.hcl",
		Long: `lock resolves every image block's reference (registry tag, oci-layout or
docker-archive) to the digest it names now and writes bundle.lock.hcl beside
the definition. A local source is read in full first and refused, as validate
refuses it, when it is missing, a blob of it is missing or corrupt, or (without
--update) it no longer has the digest pinned: the lock never names a broken
image. Entries already pinned keep their digest unless --update is
given. bundle build uses the lock and refuses a reference whose digest changed
unless it is given --update-lock.`,
		Example: `  bundle lock examples/mesos-site
  bundle lock . --update`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, d, diags, err := pipeline.Lock(cmd.Context(), pipeline.LockRequest{Path: pathArg(args), Load: f.options(), Update: update, Insecure: insecure, RegistryTimeout: timeout})
			if diags.HasErrors() {
				if g.JSON {
					if err := writeJSON(g, map[string]any{"diagnostics": toJSONDiags(diags)}); err != nil {
						return err
					}
				}
				printDiags(g, d.Sources(), diags)
				return &exitError{code: ExitUser}
			}
			if err != nil {
				return envErr(err)
			}
			locked, lockPath := res.Images, res.Path
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
				fmt.Fprintf(g.Out, "image %s\t%s\t%s\n", printable(l.Name), printable(l.Ref), l.Digest)
			}
			fmt.Fprintf(g.Out, "Wrote %s (%s).\n", printable(lockPath), plural(len(locked), "image"))
			return nil
		},
	}
	addDefFlags(cmd, &f)
	cmd.Flags().BoolVar(&update, "update", false, "re-resolve entries that are already pinned")
	cmd.Flags().StringSliceVar(&insecure, "insecure-registry", nil, "registry host (or host:port) that may be spoken to over plain HTTP (loopback always may)")
	cmd.Flags().DurationVar(&timeout, "registry-timeout", 0, "how long to wait for a registry to connect, answer, or send the next bytes (default 30s to connect, 2m to answer, 1m between bytes)")
	return cmd
}
