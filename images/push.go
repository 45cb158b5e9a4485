package images

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Pushed describes one image pushed to the site registry.
type Pushed struct {
	Name       string
	Repository string
	// Ref is the pinned reference at the site registry (SiteRef).
	Ref    string
	Digest string
	// Tag is the source tag also pushed ("" when the image has none).
	Tag string
	// UploadedBytes counts blob bytes sent; SkippedBytes the bytes of
	// blobs the registry already had (or mounted).
	UploadedBytes, SkippedBytes int64
	UploadedBlobs, SkippedBlobs int
}

// Push pushes every image and index of the OCI layout at layoutDir to
// registry (host[:port]) under its repository (the layout's repository
// annotation), tagged with its source tag when it has one. Blobs the
// registry already holds are not uploaded again. After each push the
// registry is asked for the digest, which must match the layout's.
func Push(ctx context.Context, layoutDir, registry string, opts Options) ([]Pushed, error) {
	opts = opts.withDefaults()
	lp, err := layout.FromPath(layoutDir)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %q: %w", layoutDir, err)
	}
	ii, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %q: %w", layoutDir, err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %q: %w", layoutDir, err)
	}
	out := make([]Pushed, len(im.Manifests))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, d := range im.Manifests {
		g.Go(func() error {
			p, err := pushOne(gctx, ii, d, registry, opts)
			if err != nil {
				n := d.Annotations[AnnotationName]
				if n == "" {
					n = d.Digest.String()
				}
				return fmt.Errorf("pushing image %q to %s: %w", n, registry, err)
			}
			out[i] = p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func pushOne(ctx context.Context, ii v1.ImageIndex, d v1.Descriptor, registry string, opts Options) (Pushed, error) {
	nm := d.Annotations[AnnotationName]
	if nm == "" {
		nm = d.Annotations[AnnotationRefName]
	}
	repo := d.Annotations[AnnotationRepository]
	if repo == "" {
		if nm == "" {
			return Pushed{}, fmt.Errorf("layout entry %s has neither a repository nor a name annotation", d.Digest)
		}
		repo = sanitizeRepo(nm)
	}
	var nopts []name.Option
	if isInsecure(registry+"/", opts.Insecure) {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.NewRepository(strings.TrimSuffix(registry, "/")+"/"+repo, nopts...)
	if err != nil {
		return Pushed{}, fmt.Errorf("repository %q: %w", repo, err)
	}
	tag := d.Annotations[AnnotationTag]
	var dst name.Reference = r.Digest(d.Digest.String())
	if tag != "" {
		dst = r.Tag(tag)
	}

	var a artifact
	switch {
	case d.MediaType.IsIndex():
		a.idx, err = ii.ImageIndex(d.Digest)
	case d.MediaType.IsImage():
		a.img, err = ii.Image(d.Digest)
	default:
		err = fmt.Errorf("unsupported media type %q", d.MediaType)
	}
	if err != nil {
		return Pushed{}, err
	}
	jobs, err := collect(a, false)
	if err != nil {
		return Pushed{}, err
	}
	var blobBytes int64
	var blobs int
	for _, j := range jobs {
		if j.what == "config" || j.what == "layer" {
			blobBytes += j.size
			blobs++
		}
	}

	ct := &countingTransport{base: opts.Transport}
	task := opts.Progress.Start("push "+nm, blobBytes)
	updates := make(chan v1.Update, 16)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		var last int64
		for u := range updates {
			if u.Complete > last {
				task.Add(u.Complete - last)
				last = u.Complete
			}
		}
	}()
	ropts := append(opts.remote(ctx), remote.WithTransport(ct), remote.WithProgress(updates))
	if a.idx != nil {
		err = remote.WriteIndex(dst, a.idx, ropts...)
	} else {
		err = remote.Write(dst, a.img, ropts...)
	}
	<-drained
	if err == nil {
		err = verifyPushed(r.Digest(d.Digest.String()), d, opts.remote(ctx))
	}
	task.Done(err)
	if err != nil {
		return Pushed{}, err
	}
	up := ct.bytes.Load()
	upBlobs := int(ct.blobs.Load())
	return Pushed{
		Name:          nm,
		Repository:    repo,
		Ref:           SiteRef(registry, repo, d.Digest.String()),
		Digest:        d.Digest.String(),
		Tag:           tag,
		UploadedBytes: up,
		SkippedBytes:  max(blobBytes-up, 0),
		UploadedBlobs: upBlobs,
		SkippedBlobs:  max(blobs-upBlobs, 0),
	}, nil
}

func verifyPushed(ref name.Digest, want v1.Descriptor, ropts []remote.Option) error {
	got, err := remote.Head(ref, ropts...)
	if err != nil {
		return fmt.Errorf("checking pushed manifest %s: %w", ref, err)
	}
	if got.Digest != want.Digest || got.Size != want.Size {
		return fmt.Errorf("%w: registry serves %s (%d bytes) for %s, layout has %s (%d bytes)", ErrDigestMismatch, got.Digest, got.Size, ref, want.Digest, want.Size)
	}
	return nil
}

// countingTransport counts blob upload bytes and committed blob uploads.
type countingTransport struct {
	base  http.RoundTripper
	bytes atomic.Int64
	blobs atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	upload := strings.Contains(req.URL.Path, "/blobs/uploads/") && (req.Method == http.MethodPatch || req.Method == http.MethodPut)
	if upload && req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = &countingBody{ReadCloser: req.Body, n: &c.bytes}
	}
	resp, err := c.base.RoundTrip(req)
	if err == nil && upload && req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated {
		c.blobs.Add(1)
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
