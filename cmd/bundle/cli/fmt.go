package cli

import (
	"bytes"
	"fmt"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/spf13/cobra"
)

func init() { register(newFmtCmd) }

func newFmtCmd(g *Globals) *cobra.Command {
	var check, diff bool
	cmd := &cobra.Command{
		Use:   "fmt [PATH]",
		Short: "Rewrite definition files in canonical format",
		Long: `fmt rewrites the .hcl files at PATH (a file or a directory, default ".") in
canonical HCL format. With -check it changes nothing and exits 1 when a file is
not formatted; with -diff it prints what it would change.`,
		Example: `  bundle fmt examples/mesos-site
  bundle fmt -check -diff .`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := sitedef.Format(pathArg(args), !check)
			if err != nil {
				return pathErr(err)
			}
			var unformatted []string
			for _, r := range res {
				if r.Diags.HasErrors() {
					printDiags(g, nil, r.Diags)
					return &exitError{code: ExitUser}
				}
				if bytes.Equal(r.Before, r.After) {
					continue
				}
				unformatted = append(unformatted, r.Path)
				if !g.JSON {
					fmt.Fprintln(g.Out, r.Path)
				}
				if diff && !g.JSON {
					fmt.Fprint(g.Out, unifiedDiff(r.Path, string(r.Before), string(r.After)))
				}
			}
			if g.JSON {
				if err := writeJSON(g, map[string]any{"unformatted": unformatted, "written": !check}); err != nil {
					return err
				}
			}
			if check && len(unformatted) > 0 {
				if !g.JSON {
					fmt.Fprintf(g.Err, "%d file(s) not formatted; run: bundle fmt %s\n", len(unformatted), pathArg(args))
				}
				return &exitError{code: ExitUser}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "change nothing; exit 1 if a file is not formatted")
	cmd.Flags().BoolVar(&diff, "diff", false, "print the changes as a unified diff")
	return cmd
}
