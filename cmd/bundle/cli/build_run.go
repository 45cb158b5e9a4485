package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/delta"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

// runFlags are the flags of build that only matter when writing.
type runFlags struct {
	Format      string
	SignKey     string
	SignRepos   bool
	NoArchive   bool
	VolumeSize  string
	Base        string
	NoHardLinks bool
	NoCache     bool
	CacheDir    string
	Offline     bool
	UpdateLock  bool
	Insecure    []string
	Timeout     time.Duration
}

func addRunFlags(cmd *cobra.Command, f *runFlags) {
	cmd.Flags().StringVar(&f.Format, "format", "tar.zst", "archive format: tar.zst, tar.gz or tar")
	cmd.Flags().StringVar(&f.SignKey, "sign-key", "", "armored OpenPGP secret key: write bundle.json.sig (passphrase in $BUNDLE_SIGN_PASSPHRASE)")
	cmd.Flags().BoolVar(&f.SignRepos, "sign-repos", false, "also sign each repository's repomd.xml with --sign-key (repomd.xml.asc, for repo_gpgcheck)")
	cmd.Flags().BoolVar(&f.NoArchive, "no-archive", false, "write only the bundle directory")
	cmd.Flags().StringVar(&f.VolumeSize, "volume-size", "", "also write the archive as volumes of at most SIZE (4.7GB, 4GiB, 700MB, dvd, fat32, ...) in DIR/<name>-<version>.volumes/, as bundle split does")
	cmd.Flags().StringVar(&f.Base, "base", "", "also write a delta against the release the site holds (its bundle directory, archive, volume set, bundle.json, or delta) in DIR/<name>-<version>.delta/: only the files whose content the base lacks")
	cmd.Flags().BoolVar(&f.NoHardLinks, "no-hardlinks", false, "copy (or reflink) inputs instead of hard-linking them")
	cmd.Flags().BoolVar(&f.NoCache, "no-cache", false, "read and hash every input (once: the RPM scan's digests are reused) instead of using the scan and hash caches")
	cmd.Flags().BoolVar(&f.Offline, "offline", false, "never touch the network: images come from local sources or the lock and the previous bundle")
	cmd.Flags().BoolVar(&f.UpdateLock, "update-lock", false, "accept image digests that differ from bundle.lock.hcl")
	cmd.Flags().StringSliceVar(&f.Insecure, "insecure-registry", nil, "registry host (or host:port) that may be spoken to over plain HTTP (loopback always may)")
	cmd.Flags().DurationVar(&f.Timeout, "registry-timeout", 0, "how long to wait for a registry to connect, answer, or send the next bytes (default 30s to connect, 2m to answer, 1m between bytes)")
	cmd.Flags().StringVar(&f.CacheDir, "cache-dir", "", "scan and hash cache directory (default $BUNDLE_CACHE_DIR, $XDG_CACHE_HOME/bundle or ~/.cache/bundle)")
}

// reportBuild says how the build went: res and err are pipeline.Build's.
// rep, started before the definition was compiled, is closed first.
func reportBuild(cmd *cobra.Command, g *Globals, f *buildFlags, br *pipeline.BuildResult, err error, rep reporter) error {
	res := br.Bundle
	rep.Close()
	if jr, ok := rep.(*jsonReporter); ok && err == nil {
		// The last line of the event stream: the build's outcome, with
		// the result stdout carries (a failure's "error" is the
		// caller's).
		jr.emit(progressEvent{Event: "done", Step: "build", Result: res})
	}
	if err != nil {
		var ue *pipeline.UsageError
		if errors.As(err, &ue) {
			return usageErr(err)
		}
		var be *pipeline.BaseError
		if errors.As(err, &be) {
			return bundleErr(err)
		}
		var ke *pipeline.KeyError
		if errors.As(err, &ke) {
			if ke.Read {
				return readErr(err)
			}
			return userErr(err)
		}
		if cmd.Context().Err() != nil {
			return envErr(errors.New("build interrupted; the previous bundle is unchanged"))
		}
		if errors.Is(err, builder.ErrNotOurs) {
			return usageErr(err)
		}
		return envErr(err)
	}
	if g.JSON {
		if br.Volumes != nil || br.Delta != nil {
			return writeJSON(g, struct {
				*builder.Result
				Volumes *pipeline.Volumes `json:"volumes,omitempty"`
				Delta   *delta.Result     `json:"delta,omitempty"`
			}{res, br.Volumes, br.Delta})
		}
		return writeJSON(g, res)
	}
	if g.Quiet {
		return nil
	}
	defer func() {
		if br.Volumes != nil {
			printVolumes(g, br.Volumes)
		}
		if br.Delta != nil {
			printDeltaResult(g, br.Delta)
		}
	}()
	fmt.Fprintf(g.Out, "Built %s-%s: %d files, %s in the bundle directory; %d packages, %d images, %d templates\n",
		res.Name, res.Version, res.Files, progress.Bytes(res.Bytes), res.Packages, res.Images, res.Templates)
	fmt.Fprintf(g.Out, "  inputs: %d hard-linked, %d reflinked, %d copied; %d digests from the cache, %d from the scan\n",
		res.Linked, res.Cloned, res.Copied, res.CachedHashes, res.ScannedHashes)
	fmt.Fprintf(g.Out, "  directory: %s%c\n", printable(res.Dir), filepath.Separator)
	if res.Archive != "" {
		fmt.Fprintf(g.Out, "  archive: %s, %s compressed (%s)", printable(res.Archive), progress.Bytes(res.ArchiveSize), f.Run.Format)
		if res.Bytes > 0 {
			fmt.Fprintf(g.Out, ", %.0f%% of the directory", float64(res.ArchiveSize)*100/float64(res.Bytes))
		}
		fmt.Fprintf(g.Out, ", sha256:%s\n", res.ArchiveSHA256)
	}
	if res.Signed {
		fmt.Fprintf(g.Out, "  signed: %s\n", printable(filepath.Join(res.Dir, manifest.SignatureName)))
	}
	return nil
}
