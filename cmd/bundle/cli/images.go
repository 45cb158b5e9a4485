package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/pipeline"
	"github.com/spf13/cobra"
)

func init() { register(newImagesCmd) }

func newImagesCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Push a bundle's images to a registry, or list them",
		Long: `images works on the container images a bundle carries (its images/ OCI
layout), for sites that load them into their own registry without
"bundle deploy".`,
	}
	cmd.AddCommand(newImagesPushCmd(g), newImagesListCmd(g))
	return cmd
}

func newImagesPushCmd(g *Globals) *cobra.Command {
	var registry, keyFile string
	var insecure []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "push BUNDLE",
		Short: "Push a bundle's images to the site registry: verified first, idempotent, resumes",
		Long: `push verifies the bundle BUNDLE (a directory, or its archive read as a
stream and never extracted), then pushes every image of its OCI layout to
the registry: --registry HOST[:PORT], by default the bundle's site registry
(the one its Marathon apps pull from). Pushing elsewhere warns that the apps
point at another registry.

Blobs and manifests the registry already has are not sent again, every
blob is hashed as it is sent, and the pushed digest is checked; a second
push uploads nothing and says so. Transient failures are retried with
back-off; a push that fails part way resumes on the next run. Plain HTTP
is used only for loopback registries and hosts named with
--insecure-registry. Credentials come from the Docker config
(~/.docker/config.json, $DOCKER_CONFIG) and its credential helpers.`,
		Example: `  bundle images push dist/mesos-site-2015.03.1.tar.zst
  bundle images push dist/mesos-site-2015.03.1 --registry registry.localdomain:5000
  bundle images push mesos-site-2015.03.1.tar.zst --registry 10.0.0.5:5000 --insecure-registry 10.0.0.5:5000 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Out, g.Err = escaped(g.Out), escaped(g.Err)
			key, err := readPublicKey(keyFile)
			if err != nil {
				return err
			}
			rep := newReporter(g)
			var mu sync.Mutex
			enc := json.NewEncoder(g.Out)
			event := func(v any) {
				mu.Lock()
				defer mu.Unlock()
				_ = enc.Encode(v)
			}
			req := pipeline.PushRequest{Path: args[0], PushOptions: pipeline.PushOptions{Registry: registry, Insecure: insecure, RegistryTimeout: timeout, Key: key, Progress: rep,
				Warn: func(w string) {
					if g.JSON {
						event(map[string]any{"event": "warning", "message": w})
						return
					}
					fmt.Fprintf(g.Err, "Warning: %s\n", w)
				}}}
			r, err := pipeline.PushImages(cmd.Context(), req)
			rep.Close()
			if err != nil {
				return pushErr(err)
			}
			if g.JSON {
				for _, p := range r.Images {
					event(map[string]any{"event": "image", "image": p})
				}
				event(map[string]any{"event": "summary", "summary": r})
				return nil
			}
			printPush(g, r)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&registry, "registry", "", "registry to push to, HOST[:PORT] (default: the bundle's site registry)")
	fl.StringSliceVar(&insecure, "insecure-registry", nil, "registry host that may be spoken to over plain HTTP (repeatable; loopback always may)")
	fl.DurationVar(&timeout, "registry-timeout", 0, "how long to wait for the registry to connect, answer, or take or send the next bytes (default 30s to connect, 2m to answer, 1m between bytes)")
	fl.StringVar(&keyFile, "key", "", "armored OpenPGP public key or keyring: require a good bundle.json.sig")
	return cmd
}

// pushErr maps a push failure to its exit code.
func pushErr(err error) error {
	var ve *manifest.VerifyError
	var ue *pipeline.UsageError
	switch {
	case errors.As(err, &ve):
		return userErr(err)
	case errors.As(err, &ue):
		return usageErr(err)
	}
	return envErr(err)
}

func printPush(g *Globals, r *pipeline.PushReport) {
	if g.Quiet {
		return
	}
	if len(r.Images) == 0 {
		fmt.Fprintf(g.Out, "Bundle %s %s carries no images: nothing to push.\n", r.Bundle, r.Version)
		return
	}
	if r.NoChanges {
		fmt.Fprintf(g.Out, "No changes: %s already has all %s of bundle %s %s.\n", r.Registry, plural(len(r.Images), "image"), r.Bundle, r.Version)
		return
	}
	w := tabwriter.NewWriter(g.Out, 2, 8, 2, ' ', 0)
	var up int64
	var blobs, manifests int
	for _, p := range r.Images {
		up += p.UploadedBytes
		blobs += p.UploadedBlobs
		manifests += p.Manifests
		fmt.Fprintf(w, "  %s\t%s\tuploaded %s (%s), %d present, %s written\n", p.Name, p.Ref, plural(p.UploadedBlobs, "blob"), progress.Bytes(p.UploadedBytes), p.SkippedBlobs, plural(p.Manifests, "manifest"))
	}
	fmt.Fprintf(g.Out, "Pushed %s of bundle %s %s to %s: %s uploaded (%s), %s written.\n", plural(len(r.Images), "image"), r.Bundle, r.Version, r.Registry, plural(blobs, "blob"), progress.Bytes(up), plural(manifests, "manifest"))
	w.Flush()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func newImagesListCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list BUNDLE",
		Short: "List a bundle's images: name, source, digests, media types, platforms, size",
		Long: `list reads the OCI layout of the bundle BUNDLE (a directory, or its archive
read as a stream) and shows each image: its name, source, the stored digest
(what the site registry serves and the apps pin), the source digest (what
the lock file pins), its media type and mode (preserve or oci), platforms
and size. It does not verify the bundle; use verify.`,
		Example: `  bundle images list dist/mesos-site-2015.03.1.tar.zst
  bundle images list dist/mesos-site-2015.03.1 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.Out, g.Err = escaped(g.Out), escaped(g.Err)
			m, es, err := pipeline.ListImages(cmd.Context(), args[0])
			if err != nil {
				return pushErr(err)
			}
			if g.JSON {
				return writeJSON(g, map[string]any{"bundle": m.Name, "version": m.Version, "site_registry": m.SiteRegistry, "images": es})
			}
			w := tabwriter.NewWriter(g.Out, 2, 8, 2, ' ', 0)
			defer w.Flush()
			fmt.Fprintln(w, "NAME\tSOURCE\tDIGEST\tSOURCE DIGEST\tMEDIA TYPES\tPLATFORMS\tSIZE")
			for _, e := range es {
				src := "="
				if e.SourceDigest != e.Digest {
					src = e.SourceDigest
				}
				pl := strings.Join(e.Platforms, ",")
				if pl == "" {
					pl = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s (%s)\t%s\t%s\n", e.Name, e.Source, e.Digest, src, e.MediaTypes, e.MediaType, pl, progress.Bytes(e.Size))
			}
			return nil
		},
	}
}
