package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/bdebundle/bundle/images/layout"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// Resolve works out, without fetching any layer, what Mirror would store for
// each spec: the digest of the stored manifest or index (what app definitions
// reference), the source digest (what the lock pins) and the repository at
// the site registry. Local sources are read; registry references are asked
// for their manifest, or, offline, looked up in the layout at layoutDir (the
// previous build's), which must hold their pinned digest. Results come in the
// order of specs; Size is not set.
func Resolve(ctx context.Context, layoutDir string, specs []Spec, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	m := &mirror{opts: opts, prev: openPrevious(layoutDir)}
	out := make([]Result, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, spec := range specs {
		g.Go(func() error {
			a, srcDigest, src, err := m.resolve(gctx, spec)
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			// Local sources, and registry images taken offline from the
			// previous layout, are read in full: what the build copies.
			if opts.VerifyLocal && (src.Kind != Registry || a.preselected) {
				if err := verifyBlobs(gctx, a); err != nil {
					return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
				}
			}
			if opts.VerifyLocal && src.Kind == DockerArchive && a.img != nil {
				if err := verifyDiffIDs(gctx, a.img); err != nil {
					return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
				}
			}
			d, err := a.digest()
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			mt, err := a.mediaType()
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			out[i] = Result{Name: spec.Name, Ref: spec.Ref, Digest: d.String(), MediaType: string(mt),
				SourceDigest: srcDigest.String(), Repository: Repository(spec), Platforms: spec.Platforms}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// verifyBlobs reads every blob of a (local) artifact and checks its size and
// digest against the manifests that name it.
func verifyBlobs(ctx context.Context, a artifact) error {
	jobs, err := collect(a, false)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := verifyBlob(j); err != nil {
			return fmt.Errorf("%s %s: %w", j.What, j.Digest, err)
		}
	}
	return nil
}

func verifyBlob(j layout.Blob) error {
	rc, err := j.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return err
	}
	if j.Size >= 0 && n != j.Size {
		return fmt.Errorf("%w: got %d bytes, want %d", layout.ErrDigestMismatch, n, j.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != j.Digest.Hex {
		return fmt.Errorf("%w: content hashes to sha256:%s", layout.ErrDigestMismatch, got)
	}
	return nil
}

// verifyDiffIDs decompresses every layer of img and checks it against the
// diff_id its config names. A docker archive's layers are not named by
// their digests (those are computed from the bytes as read), so this is
// the only check of their content: a corrupt gzip stream is refused here,
// not pulled at the site.
func verifyDiffIDs(ctx context.Context, img v1.Image) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return fmt.Errorf("the config names %d layers (rootfs.diff_ids), the manifest %d", len(cf.RootFS.DiffIDs), len(layers))
	}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := cf.RootFS.DiffIDs[i]
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %d: decompressing: %w", i+1, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want.Hex {
			return fmt.Errorf("layer %d: %w: its uncompressed content hashes to sha256:%s, the config's diff_id is %s", i+1, layout.ErrDigestMismatch, got, want)
		}
	}
	return nil
}
