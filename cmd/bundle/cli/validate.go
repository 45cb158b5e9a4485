package cli

import (
	"fmt"

	"context"

	"github.com/bdebundle/bundle/pipeline"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

// load loads the definition at path, gathers facts about its inputs and
// compiles it.
func load(ctx context.Context, g *Globals, path string, f *defFlags) (*pipeline.Result, hcl.Diagnostics) {
	return pipeline.Compile(ctx, path, f.options(), pipeline.Options{})
}

func newValidateCmd(g *Globals) *cobra.Command {
	var f defFlags
	cmd := &cobra.Command{
		Use:   "validate [PATH]",
		Short: "Parse and check a definition; print diagnostics",
		Long: `validate loads the definition at PATH (a .hcl file or a directory of them,
default "."), evaluates variables and references, and runs every check of the
compiler. It prints each problem with file:line:col and a source snippet and
exits 1 if any is an error.`,
		Example: `  bundle validate examples/mesos-site
  bundle validate site.hcl --var stats_password=s3cret-pass
  bundle validate . --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, diags := load(cmd.Context(), g, pathArg(args), &f)
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
	return cmd
}
