package cli

import (
	"fmt"

	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

func newValidateCmd(g *Globals) *cobra.Command {
	var f defFlags
	var offline bool
	var outDir string
	cmd := &cobra.Command{
		Use:   "validate [PATH]",
		Short: "Parse and check a definition; print diagnostics",
		Long: `validate loads the definition at PATH (a .hcl file or a directory of them,
default "."), evaluates variables and references, and runs every check of the
compiler. It prints each problem with file:line:col and a source snippet and
exits 1 if any is an error. It never uses the network: a registry image is
resolved, pinned by bundle.lock.hcl, from the previous bundle's images/ under
--output (as bundle build --offline does); one it cannot resolve is a warning,
and with --offline an error, exactly as bundle build --offline refuses it.`,
		Example: `  bundle validate examples/mesos-site
  bundle validate site.hcl --var stats_password=s3cret-pass
  bundle validate . --json
  bundle validate . --offline -o dist`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, diags := pipeline.Compile(cmd.Context(), pipeline.CompileRequest{Path: pathArg(args), Load: f.options(), Mode: pipeline.ModeCheck, Offline: offline, OutDir: outDir})
			d := res.Def
			if g.JSON {
				if err := writeJSON(g, map[string]any{"valid": !diags.HasErrors(), "diagnostics": toJSONDiags(diags)}); err != nil {
					return err
				}
			} else {
				printDiags(g, d.Sources(), diags)
			}
			if err := diagsErr(diags); err != nil {
				return &exitError{code: ExitUser}
			}
			if !g.JSON && !g.Quiet {
				fmt.Fprintf(g.Out, "The definition %s is valid.\n", pathArg(args))
			}
			return nil
		},
	}
	addDefFlags(cmd, &f)
	cmd.Flags().BoolVar(&offline, "offline", false, "refuse what build --offline refuses: a registry image not pinned and in the previous bundle is an error")
	cmd.Flags().StringVarP(&outDir, "output", "o", "dist", "where build writes the bundle: its previous images/ resolves pinned registry images")
	return cmd
}
