package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/delta"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newMergeCmd) }

func printDeltaResult(g *Globals, d *delta.Result) {
	fmt.Fprintf(g.Out, "  delta: %s%c against %s-%s: %d files (%s) carried, %d files (%s) from the base\n",
		printable(d.Dir), filepath.Separator, d.Base.Name, d.Base.Version, d.Carried, progress.Bytes(d.CarriedBytes), d.FromBase, progress.Bytes(d.FromBaseBytes))
}

// printDeltaProblems prints a delta report's problems, one a line.
func printDeltaProblems(g *Globals, r *delta.Report) {
	for _, p := range r.Problems {
		fmt.Fprintf(g.Out, "%s: %s\n", p.Path, p.Problem)
	}
}

// verifyDelta is verify's path for a delta directory.
func verifyDelta(g *Globals, cmd *cobra.Command, path, basePath string, key []byte) error {
	var base *delta.Base
	if basePath != "" {
		var err error
		if base, err = pipeline.LoadBase(cmd.Context(), basePath); err != nil {
			return bundleErr(fmt.Errorf("--base: %w", err))
		}
	}
	r, err := pipeline.VerifyDelta(cmd.Context(), path, base, key)
	if err != nil {
		return pathErr(err)
	}
	if g.JSON {
		if err := writeJSON(g, r); err != nil {
			return err
		}
	} else {
		printDeltaProblems(g, r)
	}
	if !r.OK() {
		if g.JSON {
			return userErr(nil)
		}
		return userErr(fmt.Errorf("%s: %d problem(s)", path, len(r.Problems)))
	}
	if !g.JSON && !g.Quiet {
		checked := "the base not checked (give --base)"
		switch r.BaseChecked {
		case "files":
			checked = "the base verified, every file the delta takes from it there"
		case "manifest":
			checked = "the base's bundle.json names every file the delta takes from it (its files not checked)"
		}
		sig := "not signed"
		switch {
		case r.SignedBy != "":
			sig = "signature good, by " + r.SignedBy
		case r.Signed:
			sig = "signed (give --key to check the signature)"
		}
		fmt.Fprintf(g.Out, "OK delta %s-%s against %s-%s: %d files (%s) carried, %d (%s) from the base; %s; %s\n",
			r.Bundle.Name, r.Bundle.Version, r.Base.Name, r.Base.Version, r.Carried, progress.Bytes(r.CarriedBytes), r.FromBase, progress.Bytes(r.FromBaseBytes), checked, sig)
	}
	return nil
}

func newMergeCmd(g *Globals) *cobra.Command {
	var out, keyFile string
	cmd := &cobra.Command{
		Use:   "merge OLD DELTA -o DIR",
		Short: "Write the full new bundle from the base release and a delta",
		Long: `merge writes DIR/<name>-<version>, the full bundle of the release a delta
(bundle build --base) carries, from the base release OLD (its bundle directory,
archive or volume set) and the delta DELTA: byte for byte what a full build
writes. Nothing is written before the delta verifies against OLD (OLD is the
base the delta names, every file the delta takes from it is there with its
sha256, OLD itself verifies, with --key both signatures); every file is checked
as it is written and the result verified before it is renamed into place. An
existing DIR/<name>-<version> is never replaced.`,
		Example: `  bundle merge /media/site/mesos-site-2015.02.0.tar.zst mesos-site-2015.03.1.delta -o dist`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Out, g.Err = escaped(g.Out), escaped(g.Err)
			if out == "" {
				return usageErr(errors.New("-o DIR is required"))
			}
			key, err := readPublicKey(keyFile)
			if err != nil {
				return err
			}
			if !pipeline.IsDelta(args[1]) {
				return userErr(fmt.Errorf("%q is not a delta (no %s)", args[1], delta.FileName))
			}
			base, err := pipeline.LoadBase(cmd.Context(), args[0])
			if err != nil {
				return bundleErr(err)
			}
			dir, r, err := pipeline.Merge(cmd.Context(), base, args[1], out, key)
			if errors.Is(err, delta.ErrNotVerified) {
				printDeltaProblems(g, r)
				return userErr(fmt.Errorf("%s: %d problem(s); nothing was written", args[1], len(r.Problems)))
			}
			if err != nil {
				if r != nil && !r.OK() {
					printDeltaProblems(g, r)
					return userErr(err)
				}
				return bundleErr(err)
			}
			if g.JSON {
				return writeJSON(g, map[string]any{"dir": dir, "report": r})
			}
			if !g.Quiet {
				fmt.Fprintf(g.Out, "Merged %s-%s: %s%c (%d files from the delta, %d from %s-%s), verified\n",
					r.Bundle.Name, r.Bundle.Version, printable(dir), filepath.Separator, r.Carried, r.FromBase, r.Base.Name, r.Base.Version)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "directory to write the merged bundle into")
	cmd.Flags().StringVar(&keyFile, "key", "", "armored OpenPGP public key or keyring: require good signatures of the delta's and the base's bundle.json")
	return cmd
}
