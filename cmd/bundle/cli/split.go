package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/verify"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newSplitCmd) }

// volumeResult is what split (and build --volume-size) wrote.
type volumeResult = pipeline.Volumes

// parseVolumeSize reads --volume-size; a bad value is a usage error.
func parseVolumeSize(s string) (int64, error) {
	n, err := pipeline.ParseVolumeSize(s)
	if err != nil {
		return 0, usageErr(fmt.Errorf("--volume-size: %w", err))
	}
	return n, nil
}

// volumesDir is where the volumes of archive go by default: beside it, in
// <name>-<version>.volumes/.
func volumesDir(archive string) string {
	base := filepath.Base(archive)
	for _, ext := range []string{".tar.zst", ".tar.gz", ".tar"} {
		if s, ok := strings.CutSuffix(base, ext); ok {
			base = s
			break
		}
	}
	return filepath.Join(filepath.Dir(archive), base+".volumes")
}

// splitArchive cuts the verified archive at archive into volumes of size
// bytes in dir, signed with key (when not nil) at the bundle's epoch.
func splitArchive(ctx context.Context, archive, dir string, size int64, key, passphrase []byte) (*volumeResult, error) {
	return pipeline.SplitArchive(ctx, archive, dir, size, key, passphrase)
}

func printVolumes(g *Globals, v *volumeResult) {
	sig := "unsigned"
	if v.Signed {
		sig = "signed"
	}
	fmt.Fprintf(g.Out, "  volumes: %d of at most %s in %s%c, manifest %s (%s)\n", v.Volumes, progress.Bytes(v.VolumeSize), printable(v.Dir), filepath.Separator, printable(filepath.Base(v.Manifest)), sig)
}

func newSplitCmd(g *Globals) *cobra.Command {
	var sizeFlag, out, signKey string
	cmd := &cobra.Command{
		Use:   "split ARCHIVE --volume-size SIZE [-o DIR] [--sign-key KEY]",
		Short: "Cut a bundle archive into numbered volumes for removable media, with a signed volume manifest",
		Long: `split verifies the bundle archive ARCHIVE (every file against bundle.json, as
verify does) and writes it as numbered volumes <archive>.vol001, .vol002, ... of
SIZE bytes (the last shorter) into DIR (default <name>-<version>.volumes beside
the archive), with the volume manifest <archive>.volumes.json (bundle name,
version and id, each volume's size and sha256, the archive's sha256) and, with
--sign-key, its signature <archive>.volumes.json.sig. Copy the manifest (and its
signature) onto every medium with its volume: "bundle verify VOLUME" checks one
volume against it. verify, inspect, deploy and images push read the set (its
manifest or its directory) as the archive, from where it lies.

SIZE is bytes with an optional unit, SI (kB, MB, GB, TB) or binary (KiB, MiB,
GiB, TiB), decimals allowed, or a medium: cd (700 MB), dvd (4.7 GB, single
layer), dvd-dl (8.5 GB), bd (25 GB), fat32 (4 GiB - 1).`,
		Example: `  bundle split dist/mesos-site-2015.03.1.tar.zst --volume-size dvd -o /media/out
  bundle split dist/mesos-site-2015.03.1.tar.zst --volume-size 4GiB --sign-key release.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Out, g.Err = escaped(g.Out), escaped(g.Err)
			if sizeFlag == "" {
				return usageErr(errors.New("--volume-size is required"))
			}
			size, err := parseVolumeSize(sizeFlag)
			if err != nil {
				return err
			}
			archive := args[0]
			if fi, err := os.Stat(archive); err != nil {
				return pathErr(fmt.Errorf("reading %q: %w", archive, err))
			} else if fi.IsDir() {
				return userErr(fmt.Errorf("reading %q: a directory; split takes a bundle archive", archive))
			}
			var key, pass []byte
			if signKey != "" {
				if key, err = regular.ReadFile(signKey, maxKeyFile); err != nil {
					return readErr(fmt.Errorf("reading signing key %q: %w", signKey, err))
				}
				pass = []byte(os.Getenv("BUNDLE_SIGN_PASSPHRASE"))
				if _, err := manifest.SigningKey(key, pass); err != nil {
					return userErr(fmt.Errorf("reading signing key %q: %w", signKey, err))
				}
			}
			rep := newReporter(g)
			r, err := pipeline.Verify(cmd.Context(), pipeline.VerifyRequest{Path: archive, Options: verify.Options{Progress: rep}})
			rep.Close()
			if err != nil {
				return pathErr(err)
			}
			if !r.OK() {
				for _, p := range r.Problems {
					fmt.Fprintf(g.Err, "%s: %s\n", p.Path, p.Problem)
				}
				return userErr(fmt.Errorf("%s does not verify (%d problem(s)); nothing was written", archive, len(r.Problems)))
			}
			if out == "" {
				out = volumesDir(archive)
			}
			v, err := splitArchive(cmd.Context(), archive, out, size, key, pass)
			if err != nil {
				return envErr(err)
			}
			if g.JSON {
				return writeJSON(g, v)
			}
			if !g.Quiet {
				fmt.Fprintf(g.Out, "Split %s-%s (%s):\n", r.Name, r.Version, printable(archive))
				printVolumes(g, v)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sizeFlag, "volume-size", "", "largest volume: 4.7GB, 4GiB, 700MB, dvd, fat32, ...")
	cmd.Flags().StringVarP(&out, "output", "o", "", "directory to write the volumes into (default <name>-<version>.volumes beside the archive)")
	cmd.Flags().StringVar(&signKey, "sign-key", "", "armored OpenPGP secret key: sign the volume manifest (passphrase in $BUNDLE_SIGN_PASSPHRASE)")
	return cmd
}
