package cli

import (
	"errors"

	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

// runBuild executes the plan into the output directory.
func runBuild(cmd *cobra.Command, g *Globals, f *buildFlags, res *pipeline.Result) error {
	return usageErr(errors.New("writing bundles needs the out package; use --plan to print the plan"))
}
