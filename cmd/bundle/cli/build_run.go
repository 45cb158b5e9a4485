package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bdebundle/bundle/compiler"
	def "github.com/bdebundle/bundle/hcl"
	"github.com/bdebundle/bundle/out"
	"github.com/spf13/cobra"
)

// runFlags are the flags of build that only matter when writing.
type runFlags struct {
	Format      string
	SignKey     string
	NoArchive   bool
	NoHardLinks bool
	NoCache     bool
	CacheDir    string
}

func addRunFlags(cmd *cobra.Command, f *runFlags) {
	cmd.Flags().StringVar(&f.Format, "format", "tar.zst", "archive format: tar.zst, tar.gz or tar")
	cmd.Flags().StringVar(&f.SignKey, "sign-key", "", "armored OpenPGP secret key: write bundle.json.sig (passphrase in $BUNDLE_SIGN_PASSPHRASE)")
	cmd.Flags().BoolVar(&f.NoArchive, "no-archive", false, "write only the bundle directory")
	cmd.Flags().BoolVar(&f.NoHardLinks, "no-hardlinks", false, "copy (or reflink) inputs instead of hard-linking them")
	cmd.Flags().BoolVar(&f.NoCache, "no-cache", false, "hash every input again instead of using the hash cache")
	cmd.Flags().StringVar(&f.CacheDir, "cache-dir", "", "hash cache directory (default $BUNDLE_CACHE_DIR, $XDG_CACHE_HOME/bundle or ~/.cache/bundle)")
}

// Hooks supply the parts of a build that live in other packages: repository
// metadata, the OCI image layout and VM templates. Nil parts are skipped.
type Hooks struct {
	Repos     out.RepoWriter
	Images    out.ImageWriter
	Templates out.TemplateWriter
}

// buildHooks returns the writers `bundle build` uses.
var buildHooks = func(g *Globals) Hooks { return Hooks{} }

// runBuild executes the plan into the output directory.
func runBuild(cmd *cobra.Command, g *Globals, f *buildFlags, d *def.Definition, plan *compiler.Plan) error {
	format, err := out.ParseFormat(f.Run.Format)
	if err != nil {
		return usageErr(err)
	}
	opts := out.BuildOptions{
		BuilderVersion: Version,
		Format:         format,
		NoArchive:      f.Run.NoArchive,
		NoHardLinks:    f.Run.NoHardLinks,
		NoCache:        f.Run.NoCache,
		CacheDir:       f.Run.CacheDir,
	}
	if f.Run.SignKey != "" {
		key, err := os.ReadFile(f.Run.SignKey)
		if err != nil {
			return usageErr(fmt.Errorf("reading signing key: %w", err))
		}
		opts.SignKey = key
		opts.SignPassphrase = []byte(os.Getenv("BUNDLE_SIGN_PASSPHRASE"))
	}
	h := buildHooks(g)
	opts.Repos, opts.Images, opts.Templates = h.Repos, h.Images, h.Templates
	rep := newReporter(g)
	opts.Progress = rep
	res, err := out.Build(cmd.Context(), plan, f.Out, opts)
	rep.Close()
	if err != nil {
		if cmd.Context().Err() != nil {
			return envErr(errors.New("build interrupted; the previous bundle is unchanged"))
		}
		return envErr(err)
	}
	if g.JSON {
		return writeJSON(g, res)
	}
	if g.Quiet {
		return nil
	}
	fmt.Fprintf(g.Out, "Built %s-%s: %d files, %s; %d packages, %d images, %d templates\n",
		res.Name, res.Version, res.Files, humanBytes(res.Bytes), res.Packages, res.Images, res.Templates)
	fmt.Fprintf(g.Out, "  inputs: %d hard-linked, %d reflinked, %d copied; %d digests from the cache\n",
		res.Linked, res.Cloned, res.Copied, res.CachedHashes)
	fmt.Fprintf(g.Out, "  %s%c\n", res.Dir, filepath.Separator)
	if res.Archive != "" {
		fmt.Fprintf(g.Out, "  %s  %s  sha256:%s\n", res.Archive, humanBytes(res.ArchiveSize), res.ArchiveSHA256)
	}
	if res.Signed {
		fmt.Fprintf(g.Out, "  signed: %s\n", filepath.Join(res.Dir, out.SignatureName))
	}
	for _, h := range []struct {
		n    int
		what string
		nil  bool
	}{{len(plan.Repos), "repository metadata", opts.Repos == nil}, {len(plan.Images), "images", opts.Images == nil}, {len(plan.Templates), "VM templates", opts.Templates == nil}} {
		if h.n > 0 && h.nil {
			fmt.Fprintf(g.Err, "Warning: this build writes no %s (no writer is configured).\n", h.what)
		}
	}
	return nil
}
