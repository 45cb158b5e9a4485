package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/bdebundle/bundle/internal/regular"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
	"github.com/bdebundle/bundle/out/volume"
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
	var keyFile, baseFile string
	cmd := &cobra.Command{
		Use:   "verify BUNDLE|VOLUME|DELTA [--base OLD]",
		Short: "Check every file, hash and the signature of a bundle directory, archive or volume set, or one volume",
		Long: `verify checks a bundle directory or archive (.tar.zst, .tar.gz, .tar) against
its bundle.json: every file's size, sha256 and mode, no missing or extra files,
SHA256SUMS, and with --key the OpenPGP signature bundle.json.sig. Archives are
read as a stream and never extracted; entries that are links, absolute, hold
"..", or lie outside <name>-<version>/ are refused. Deep checks (repodata, image
layout, OVF) run on directories. A volume set (bundle split, build
--volume-size: its manifest <archive>.volumes.json or the directory holding it)
is read as its archive, straight from the media, each volume checked against
the volume manifest as it passes; with --key the volume manifest's signature
must check too. One volume (<archive>.volNNN) is checked on its own against the
volume manifest beside it ("volume 3 of 7: ok"). A delta (bundle build
--base) is checked alone as far as it can be (its own files, its bundle.json
and signature); with --base OLD (the base's directory, archive, volume set or
bundle.json) the whole new release: OLD is the base the delta names and holds
every file the delta takes from it. Exits 1 when anything is wrong.`,
		Example: `  bundle verify dist/mesos-site-2015.03.1
  bundle verify dist/mesos-site-2015.03.1.tar.zst --key release.pub.asc
  bundle verify /media/dvd/mesos-site-2015.03.1.tar.zst.vol003 --key release.pub.asc`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Out, g.Err = escaped(g.Out), escaped(g.Err)
			opts := verify.Options{}
			key, err := readPublicKey(keyFile)
			if err != nil {
				return err
			}
			opts.Key = key
			if pipeline.IsDelta(args[0]) {
				return verifyDelta(g, cmd, args[0], baseFile, key)
			}
			if baseFile != "" {
				return usageErr(fmt.Errorf("--base is for a delta; %q is not one", args[0]))
			}
			if fi, err := os.Stat(args[0]); err == nil && fi.Mode().IsRegular() && pipeline.IsVolume(args[0]) {
				return verifyVolume(cmd.Context(), g, args[0], key)
			}
			rep := newReporter(g)
			opts.Progress = rep
			r, err := pipeline.Verify(cmd.Context(), pipeline.VerifyRequest{Path: args[0], Options: opts})
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
				from := ""
				if r.Kind == "volumes" {
					from = " (read from its volume set)"
				}
				fmt.Fprintf(g.Out, "OK %s-%s%s: %d files, %s verified; %s\n", r.Name, r.Version, from, r.Files, progress.Bytes(r.Bytes), sig)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&baseFile, "base", "", "with a delta: the base release (directory, archive, volume set or bundle.json) to verify the whole new release against")
	cmd.Flags().StringVar(&keyFile, "key", "", "armored OpenPGP public key or keyring: require a good bundle.json.sig")
	return cmd
}

// volumeCheck is verify's result for one volume.
type volumeCheck struct {
	Volume   int    `json:"volume"`
	Of       int    `json:"of"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Bundle   string `json:"bundle"`
	Signed   bool   `json:"signed"`
	SignedBy string `json:"signed_by,omitempty"`
}

// verifyVolume checks one volume against the volume manifest beside it.
func verifyVolume(ctx context.Context, g *Globals, path string, key []byte) error {
	r, err := pipeline.CheckVolume(ctx, path, key)
	if err != nil {
		if errors.Is(err, volume.ErrSet) {
			return userErr(err)
		}
		return pathErr(err)
	}
	m := r.Set.Manifest
	c := volumeCheck{Volume: r.Volume.Index, Of: len(m.Volumes), Name: r.Volume.Name, Size: r.Volume.Size, SHA256: r.Volume.SHA256,
		Bundle: m.Name + "-" + m.Version, Signed: r.Set.Signed, SignedBy: r.Set.SignedBy}
	if g.JSON {
		return writeJSON(g, c)
	}
	if !g.Quiet {
		sig := "volume manifest not signed"
		switch {
		case c.SignedBy != "":
			sig = "volume manifest signature good, by " + c.SignedBy
		case c.Signed:
			sig = "volume manifest signed (give --key to check the signature)"
		}
		fmt.Fprintf(g.Out, "volume %d of %d: ok (%s, %s of %s; %s)\n", c.Volume, c.Of, c.Name, progress.Bytes(c.Size), c.Bundle, sig)
	}
	return nil
}
