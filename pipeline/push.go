package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/images/registry"
	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/out/read"
	"github.com/bdebundle/bundle/out/vcenter"
	"github.com/bdebundle/bundle/out/verify"
	"github.com/bdebundle/bundle/out/volume"
	"github.com/google/go-containerregistry/pkg/authn"
)

// PushRequest is what PushImages is asked: the bundle and how to push.
type PushRequest struct {
	// Path is the bundle: a bundle directory or its archive.
	Path string
	PushOptions
}

// PushOptions tune PushImages and the deploy image step.
type PushOptions struct {
	// Registry is where to push (host[:port]); "" = the bundle's site
	// registry.
	Registry string
	// Insecure lists registry hosts (host or host:port) that may be spoken
	// to over plain HTTP; loopback hosts may be without being listed.
	Insecure []string
	// RegistryTimeout bounds each wait for the registry (0 = the
	// defaults).
	RegistryTimeout time.Duration
	// Key, when set, requires bundle.json.sig to be a good signature by it.
	Key      []byte
	Progress progress.Reporter
	// Warn receives warnings (the registry differs from the site
	// registry) as they arise; they are in the report as well.
	Warn func(string)
	// Keychain, Transport, Retries and Backoff are passed to registry.Push
	// (defaults: the Docker config and credential helpers, the default
	// transport, 3 retries from 500 ms).
	Keychain  authn.Keychain
	Transport http.RoundTripper
	Retries   int
	Backoff   time.Duration
}

// PushReport is the outcome of PushImages.
type PushReport struct {
	Bundle   string `json:"bundle"`
	Version  string `json:"version"`
	Registry string `json:"registry"`
	// SiteRegistry is the registry the bundle's apps pull from.
	SiteRegistry string            `json:"site_registry"`
	Images       []registry.Pushed `json:"images"`
	// NoChanges is set when the registry had everything already.
	NoChanges bool     `json:"no_changes"`
	Warnings  []string `json:"warnings"`
}

// UsageError is a push that cannot be carried out as asked (no registry).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// PushImages pushes the images of the bundle at req.Path (a bundle directory or
// its archive) to the site registry, or to opts.Registry. The bundle is
// verified first (an archive as a stream; a directory with the deep
// checks), so nothing is uploaded from a bundle that does not verify. An
// archive is never extracted: its OCI layout is read from the stream.
func PushImages(ctx context.Context, req PushRequest) (*PushReport, error) {
	path, opts := req.Path, req.PushOptions
	m, arch, err := verifiedManifest(ctx, path, opts.Key, opts.Progress)
	if err != nil {
		return nil, err
	}
	rep := &PushReport{Bundle: m.Name, Version: m.Version, SiteRegistry: m.SiteRegistry, Images: []registry.Pushed{}, Warnings: []string{}}
	if len(m.Images) == 0 {
		rep.Registry = opts.Registry
		rep.NoChanges = true
		return rep, nil
	}
	rep.Registry, err = pushRegistry(m, opts.Registry, rep, opts.Warn)
	if err != nil {
		return nil, err
	}
	iopts := opts.pushOptions()
	iopts.IndexSHA256 = indexSHA256(m)
	var pushed []registry.Pushed
	if arch {
		pushed, err = registry.PushStream(ctx, archiveLayout(path, m), rep.Registry, iopts)
	} else {
		pushed, err = registry.Push(ctx, filepath.Join(path, manifest.ImagesDir), rep.Registry, iopts)
	}
	if err != nil {
		return nil, err
	}
	rep.Images = pushed
	rep.NoChanges = true
	for _, p := range pushed {
		if p.Changed() {
			rep.NoChanges = false
		}
	}
	return rep, nil
}

// indexSHA256 is the sha256 bundle.json m lists for the layout's
// index.json: what push holds the layout it reads to.
func indexSHA256(m *manifest.Manifest) string {
	for _, f := range m.Files {
		if f.Path == manifest.ImagesDir+"/index.json" {
			return f.SHA256
		}
	}
	return ""
}

func (o PushOptions) pushOptions() registry.PushOptions {
	return registry.PushOptions{Options: registry.Options{Insecure: o.Insecure, Timeout: o.RegistryTimeout, Keychain: o.Keychain, Transport: o.Transport, Retries: o.Retries, Backoff: o.Backoff}, Progress: o.Progress}
}

// pushDeployImages is deploy's image step: it pushes the layout of a
// verified bundle directory to host with the same code as PushImages,
// refusing a layout whose index.json does not hash to the digest m, the
// verified bundle.json, lists, and warning when host is not m's site
// registry.
func pushDeployImages(ctx context.Context, opts PushOptions, m *manifest.Manifest, layoutDir, host string) (vcenter.ImagesPushed, error) {
	var sum vcenter.ImagesPushed
	if _, err := pushRegistry(m, host, &PushReport{}, opts.Warn); err != nil {
		return sum, err
	}
	iopts := opts.pushOptions()
	iopts.IndexSHA256 = indexSHA256(m)
	pushed, err := registry.Push(ctx, layoutDir, host, iopts)
	for _, p := range pushed {
		sum.Images++
		sum.Bytes += p.UploadedBytes
		sum.SkippedBytes += p.SkippedBytes
	}
	return sum, err
}

// pushRegistry chooses where to push: the asked registry, else the
// bundle's site registry. Pushing elsewhere than the site registry is
// allowed with a warning: the apps will not find the images there.
func pushRegistry(m *manifest.Manifest, asked string, rep *PushReport, warn func(string)) (string, error) {
	asked = strings.TrimSuffix(asked, "/")
	site := m.SiteRegistry
	if asked == "" {
		if site == "" {
			return "", &UsageError{fmt.Errorf("bundle %s %s names no site registry: give one with --registry", m.Name, m.Version)}
		}
		return site, nil
	}
	if asked != site {
		var w string
		if site == "" {
			w = fmt.Sprintf("bundle %s %s names no site registry: its apps reference images without a registry host (Docker Hub), not at %s", m.Name, m.Version, asked)
		} else {
			w = fmt.Sprintf("pushing to %s, but the apps of bundle %s %s pull their images from %s: they will not find them unless %s serves the same images", asked, m.Name, m.Version, site, site)
		}
		if loadsArchives(m) {
			w += " (apps of clusters whose docker-io is before 1.6 pull nothing: their nodes load the images from the bundle's docker load archives)"
		}
		rep.Warnings = append(rep.Warnings, w)
		if warn != nil {
			warn(w)
		}
	}
	return asked, nil
}

// loadsArchives reports whether the bundle carries docker load archives,
// which the nodes of clusters on Docker before 1.6 load instead of pulling.
func loadsArchives(m *manifest.Manifest) bool {
	for _, f := range m.Files {
		if strings.HasPrefix(f.Path, manifest.DockerDir+"/") && strings.HasSuffix(f.Path, ".tar") {
			return true
		}
	}
	return false
}

// ListImages describes the images of the bundle at path (a directory or an
// archive, read as a stream). It does not verify the bundle.
func ListImages(ctx context.Context, path string) (*manifest.Manifest, []layout.Entry, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, &manifest.VerifyError{Path: path, Err: err}
	}
	m, err := read.Manifest(ctx, path)
	if err != nil {
		return nil, nil, &manifest.VerifyError{Path: path, Err: err}
	}
	if len(m.Images) == 0 {
		return m, []layout.Entry{}, nil
	}
	var es []layout.Entry
	if st.IsDir() && !volume.IsSet(path) {
		es, err = layout.List(filepath.Join(path, manifest.ImagesDir))
	} else {
		es, err = layout.ListStream(ctx, archiveLayout(path, nil))
	}
	if err != nil {
		return nil, nil, &manifest.VerifyError{Path: path, Err: err}
	}
	return m, es, nil
}

// archiveLayout reads the images/ layout of a bundle archive as a stream.
// A file read to its end must still match bundle.json (m, when not nil):
// the archive was verified in an earlier pass, and index.json, unlike the
// blobs, is not named by its digest.
func archiveLayout(src string, m *manifest.Manifest) layout.WalkFunc {
	want := map[string]string{}
	if m != nil {
		for _, f := range m.Files {
			want[f.Path] = f.SHA256
		}
	}
	return func(ctx context.Context, visit func(rel string, size int64, r io.Reader) error) error {
		return archive.WalkFiles(ctx, src, func(rel string, size int64, r io.Reader) error {
			rest, ok := strings.CutPrefix(rel, manifest.ImagesDir+"/")
			if !ok {
				return nil
			}
			h := sha256.New()
			cr := &ctxio.CountingReader{R: io.TeeReader(r, h)}
			if err := visit(rest, size, cr); err != nil {
				return err
			}
			if sum, ok := want[rel]; ok && cr.N == size && hex.EncodeToString(h.Sum(nil)) != sum {
				return fmt.Errorf("%s in %s changed since it was verified", rel, src)
			}
			return nil
		})
	}
}

// verifiedManifest verifies the bundle at path and returns its bundle.json;
// arch is set for an archive.
func verifiedManifest(ctx context.Context, path string, key []byte, pr progress.Reporter) (*manifest.Manifest, bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, false, &manifest.VerifyError{Path: path, Err: err}
	}
	r, err := verified(ctx, path, verify.Options{Key: key, Progress: pr})
	if err != nil {
		return nil, !st.IsDir() || volume.IsSet(path), err
	}
	return r.Manifest, !st.IsDir() || volume.IsSet(path), nil
}
