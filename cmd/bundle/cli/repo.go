package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/internal/regular"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/spf13/cobra"

	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/repo"
)

func init() { register(newRepoCmd) }

func newRepoCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repo",
		Short: "Work with yum repositories",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRepoIndexCmd(g))
	return cmd
}

func newRepoIndexCmd(g *Globals) *cobra.Command {
	var (
		opts    repo.IndexOptions
		epoch   string
		signKey string
	)
	cmd := &cobra.Command{
		Use:   "index DIR",
		Short: "Write createrepo_c-compatible repodata for a directory of RPMs",
		Long: `index reads the header of every *.rpm under DIR (recursively), checks its
digests (and, with -v or --json, lists each package's signature kinds and
key ids; a signature is information here, never a reason to refuse a
package), and writes DIR/repodata: repomd.xml, primary, filelists and other
(.xml.gz), as createrepo_c does. The output is byte-reproducible: every
timestamp is --epoch (default: $SOURCE_DATE_EPOCH, else the newest build time
among the packages). The new repodata replaces the old one atomically.`,
		Example: `  bundle repo index www/yum/repos/mesos/0.22.0
  bundle repo index --update --epoch 1426032000 repos/mesos
  bundle repo index --sign-key release.asc --json repos/mesos`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if epoch == "" {
				epoch = os.Getenv("SOURCE_DATE_EPOCH")
			}
			if epoch != "" {
				v, err := strconv.ParseInt(epoch, 10, 64)
				if err != nil || v < 0 {
					return usageErr(fmt.Errorf("--epoch %q: want seconds since 1970", epoch))
				}
				opts.Epoch = v
			}
			if opts.Workers < 0 {
				return usageErr(fmt.Errorf("--workers %d: want a positive number", opts.Workers))
			}
			if signKey != "" {
				k, err := readSigningKey(signKey)
				if err != nil {
					return readErr(err)
				}
				opts.SignKey = k
			}
			// Progress on stderr: lines (or bars on a terminal), JSON
			// events with --json, nothing with -q.
			rep := newReporter(g)
			closeRep := sync.OnceFunc(rep.Close)
			defer closeRep()
			opts.Progress = rep
			// Parsed headers are small and short-lived: trade a little
			// memory for less garbage collection, up to a soft limit
			// (what Index holds is a few hundred bytes per package; the
			// metadata itself is written as it is read, or spilled to
			// disk), so the peak stays flat in the number of packages.
			defer debug.SetGCPercent(debug.SetGCPercent(400))
			if os.Getenv("GOMEMLIMIT") == "" {
				defer debug.SetMemoryLimit(debug.SetMemoryLimit(indexMemoryLimit))
			}
			res, err := repo.Index(cmd.Context(), args[0], opts)
			closeRep()
			if err != nil {
				var pe *fs.PathError
				if errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) {
					return envErr(err)
				}
				return userErr(err)
			}
			if g.JSON {
				return json.NewEncoder(g.Out).Encode(res)
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(g.Err, "warning: %s\n", w)
			}
			if !g.Quiet {
				fmt.Fprintf(g.Out, "%s: %d packages (%d read, %d reused), revision %s\n",
					res.Dir, res.Packages, res.Read, res.Reused, res.Revision)
			}
			if g.Verbose {
				for _, ps := range res.Signatures {
					sum := "unsigned"
					if len(ps.Summary) > 0 {
						sum = strings.Join(ps.Summary, "; ")
					}
					fmt.Fprintf(g.Out, "  %s: %s\n", ps.Location, sum)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Workers, "workers", 0, "RPMs read at once (default: number of CPUs)")
	f.BoolVar(&opts.Update, "update", false, "reuse metadata of RPMs unchanged since the last index")
	f.StringVar(&opts.Revision, "revision", "", "repomd.xml revision (default: the epoch)")
	f.StringVar(&epoch, "epoch", "", "timestamp written everywhere, seconds since 1970")
	f.StringVar(&signKey, "sign-key", "", "armored OpenPGP secret key file; writes repodata/repomd.xml.asc")
	return cmd
}

// readSigningKey loads the first secret key of an armored (or binary) key
// file, unlocked with $BUNDLE_SIGN_PASSPHRASE when it is encrypted.
func readSigningKey(path string) (*openpgp.Entity, error) {
	data, err := regular.ReadFile(path, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("reading signing key %q: %w", path, err)
	}
	e, err := manifest.SigningKey(data, []byte(os.Getenv("BUNDLE_SIGN_PASSPHRASE")))
	if err != nil {
		return nil, userErr(fmt.Errorf("reading signing key %q: %w", path, err))
	}
	return e, nil
}

// indexMemoryLimit is the soft limit on the Go heap of `bundle repo index`.
// The three metadata writers (gzip state and buffers, about 3 MiB) run
// beside the scan: at 24 MiB the collector ran three times as often as
// without them and cost more CPU than the overlap saved (docs/repo.md).
const indexMemoryLimit = 32 << 20
