package cli

import (
	"fmt"

	"github.com/bdebundle/bundle/compiler"
	def "github.com/bdebundle/bundle/hcl"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

// load loads and compiles the definition at path, printing diagnostics.
func load(g *Globals, path string, f *defFlags) (*def.Definition, *compiler.Plan, hcl.Diagnostics) {
	d, diags := def.Load(path, f.options())
	if diags.HasErrors() {
		return d, nil, diags
	}
	plan, cds := compiler.Compile(d, nil)
	return d, plan, append(diags, cds...)
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
			d, _, diags := load(g, pathArg(args), &f)
			if g.JSON {
				if err := writeJSON(g, map[string]any{"valid": !diags.HasErrors(), "diagnostics": toJSONDiags(diags)}); err != nil {
					return err
				}
			} else {
				printDiags(g, d.Files, diags)
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
