package cli

import (
	"fmt"

	"github.com/bdebundle/bundle/internal/regular"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newVerifyCmd) }

// readPublicKey reads the --key file of verify and deploy; "" is no key.
// A file that holds no OpenPGP key is a usage error naming it.
func readPublicKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	key, err := regular.ReadFile(path, maxKeyFile)
	if err != nil {
		return nil, readErr(fmt.Errorf("reading key %q: %w", path, err))
	}
	if err := manifest.CheckPublicKey(key); err != nil {
		return nil, userErr(fmt.Errorf("reading key %q: %w", path, err))
	}
	return key, nil
}

func newVerifyCmd(g *Globals) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "verify BUNDLE",
		Short: "Check every file, hash and the signature of a bundle directory or archive",
		Long: `verify checks a bundle directory or archive (.tar.zst, .tar.gz, .tar) against
its bundle.json: every file's size, sha256 and mode, no missing or extra files,
SHA256SUMS, and with --key the OpenPGP signature bundle.json.sig. Archives are
read as a stream and never extracted; entries that are links, absolute, hold
"..", or lie outside <name>-<version>/ are refused. Deep checks (repodata, image
layout, OVF) run on directories. Exits 1 when anything is wrong.`,
		Example: `  bundle verify dist/mesos-site-2015.03.1
  bundle verify dist/mesos-site-2015.03.1.tar.zst --key release.pub.asc`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Out, g.Err = escaped(g.Out), escaped(g.Err)
			opts := verify.Options{}
			key, err := readPublicKey(keyFile)
			if err != nil {
				return err
			}
			opts.Key = key
			rep := newReporter(g)
			opts.Progress = rep
			r, err := pipeline.Verify(cmd.Context(), args[0], opts)
			rep.Close()
			if err != nil {
				return pathErr(err)
			}
			if g.JSON {
				if err := writeJSON(g, r); err != nil {
					return err
				}
			} else {
				for _, p := range r.Problems {
					fmt.Fprintf(g.Out, "%s: %s\n", p.Path, p.Problem)
				}
			}
			if !r.OK() {
				if g.JSON {
					return userErr(nil)
				}
				return userErr(fmt.Errorf("%s: %d problem(s)", args[0], len(r.Problems)))
			}
			if !g.JSON && !g.Quiet {
				sig := "not signed"
				switch {
				case r.SignedBy != "":
					sig = "signature good, by " + r.SignedBy
				case r.Signed:
					sig = "signed (give --key to check the signature)"
				}
				fmt.Fprintf(g.Out, "OK %s-%s: %d files, %s verified; %s\n", r.Name, r.Version, r.Files, progress.Bytes(r.Bytes), sig)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "armored OpenPGP public key or keyring: require a good bundle.json.sig")
	return cmd
}
