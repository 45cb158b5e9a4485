package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/atomicfs"
)

// Spec is one image to mirror.
type Spec struct {
	// Name is the image's name in the definition (`image "nginx"`); it is
	// the ref name of the image in the layout.
	Name string
	// Ref is a registry reference (nginx:1.7.9, registry:5000/x@sha256:…)
	// or a local source oci-layout:DIR[:tag] / docker-archive:FILE with an
	// absolute path.
	Ref string
	// Platforms selects platforms (os/arch[/variant]) of a multi-platform
	// index: one gives that platform's image; several give a new index
	// holding only those platforms; none keeps the source as it is.
	Platforms []string
	// Digest is the digest pinned by the lock file for Ref ("" = not pinned).
	Digest string
	// MediaTypes says how this image's manifests are stored ("" =
	// Options.MediaTypes).
	MediaTypes layout.MediaTypes
}

// Result describes one mirrored image.
type Result struct {
	Name string
	// Ref is the spec's reference.
	Ref string
	// Digest is the digest of the manifest or index stored in the layout
	// (what the site registry serves and app definitions reference).
	Digest    string
	MediaType string
	// Size is the total size of the blobs the image needs (manifests,
	// configs and layers, each counted once).
	Size int64
	// Platforms are the platforms the stored image provides.
	Platforms []string
	// SourceDigest is the digest Ref resolved to (what the lock pins).
	SourceDigest string
	// Repository is the repository path at the site registry.
	Repository string
}

// Mirror copies the images of specs into ONE OCI image layout at layoutDir.
// The layout is built in a temporary directory beside layoutDir and renamed
// into place at the end: on error, layoutDir is left as it was and no
// temporary directory remains. Blobs shared between images are fetched and
// stored once. Results come in the order of specs; the layout's index.json
// lists the images sorted by name.
func Mirror(ctx context.Context, layoutDir string, specs []Spec, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	if err := opts.MediaTypes.Check(); err != nil {
		return nil, err
	}
	parent := filepath.Dir(layoutDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating %q: %w", parent, err)
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(layoutDir)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("creating staging directory beside %q: %w", layoutDir, err)
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(stage)
		}
	}()
	blobDir := filepath.Join(stage, "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %q: %w", blobDir, err)
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return nil, fmt.Errorf("creating %q: %w", stage, err)
	}

	m := &mirror{
		opts: opts,
		prev: openPrevious(layoutDir),
	}
	m.store = layout.NewStore(blobDir, m.prev.blobDir, opts.Workers, opts.Policy())
	results := make([]Result, len(specs))
	descs := make([]v1.Descriptor, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, spec := range specs {
		g.Go(func() error {
			r, d, err := m.mirrorOne(gctx, spec)
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			results[i], descs[i] = r, d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := layout.WriteIndex(stage, descs); err != nil {
		return nil, err
	}
	if err := atomicfs.ReplaceDir(stage, layoutDir); err != nil {
		return nil, err
	}
	committed = true
	return results, nil
}

func checkSpecs(specs []Spec) error {
	seen := map[string]bool{}
	for i, s := range specs {
		if s.Name == "" {
			return fmt.Errorf("image %d (%s): empty name", i, s.Ref)
		}
		if seen[s.Name] {
			return fmt.Errorf("image %q: listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Digest != "" {
			if _, err := v1.NewHash(s.Digest); err != nil {
				return fmt.Errorf("image %q: pinned digest %q: %w", s.Name, s.Digest, err)
			}
		}
		if _, err := parsePlatforms(s.Platforms); err != nil {
			return fmt.Errorf("image %q: %w", s.Name, err)
		}
		if s.MediaTypes != "" {
			if err := s.MediaTypes.Check(); err != nil {
				return fmt.Errorf("image %q: %w", s.Name, err)
			}
		}
	}
	return nil
}

type mirror struct {
	opts  Options
	store *layout.Store
	prev  previous
	// record keeps what is opened from registries in opts.Resolved
	// (Resolve); Mirror only takes from it.
	record bool
}

// open opens src, taking a registry source from opts.Resolved when an
// earlier Resolve of this build opened it.
func (m *mirror) open(ctx context.Context, src Source) (artifact, v1.Hash, error) {
	if src.Kind != Registry {
		return open(ctx, src, m.opts)
	}
	if o, ok := m.opts.Resolved.get(src.Ref.String()); ok {
		return o.a, o.srcDigest, nil
	}
	a, h, err := open(ctx, src, m.opts)
	if err == nil && m.record {
		m.opts.Resolved.put(src.Ref.String(), opened{a: a, srcDigest: h})
	}
	return a, h, err
}

// resolve opens the source of spec, checks it against the pinned digest and
// applies the platform selection.
func (m *mirror) resolve(ctx context.Context, spec Spec) (artifact, v1.Hash, Source, error) {
	src, err := parseSource(spec.Ref, m.opts.Insecure)
	if err != nil {
		return artifact{}, v1.Hash{}, src, err
	}
	mts := m.mediaTypes(spec)
	if src.Kind == Registry && m.opts.Offline {
		if a, ok := m.prev.lookup(spec, mts); ok {
			h, _ := v1.NewHash(spec.Digest)
			return a, h, src, nil
		}
		return artifact{}, v1.Hash{}, src, fmt.Errorf("%s is a registry reference and the network is off: use a local source (oci-layout:DIR, docker-archive:FILE), or pin it in the lock file and mirror it once online so the layout holds it", spec.Ref)
	}
	a, srcDigest, err := m.open(ctx, src)
	if err != nil {
		return artifact{}, v1.Hash{}, src, err
	}
	if err := m.checkPin(spec, srcDigest); err != nil {
		return artifact{}, v1.Hash{}, src, err
	}
	a, err = selectPlatforms(a, spec.Platforms)
	if err != nil {
		return artifact{}, v1.Hash{}, src, err
	}
	if mts == layout.OCI {
		if a, err = convertOCI(a); err != nil {
			return artifact{}, v1.Hash{}, src, fmt.Errorf("converting to OCI media types: %w", err)
		}
	}
	return a, srcDigest, src, nil
}

// checkPin refuses a source digest other than the one the lock pins,
// unless the lock is being updated.
func (m *mirror) checkPin(spec Spec, srcDigest v1.Hash) error {
	if spec.Digest != "" && srcDigest.String() != spec.Digest && !m.opts.UpdateLock {
		return fmt.Errorf("%w: %s resolves to %s but the lock file pins %s; update the lock to accept the new digest", ErrLockMismatch, spec.Ref, srcDigest, spec.Digest)
	}
	return nil
}

// mediaTypes is how spec's manifests are stored.
func (m *mirror) mediaTypes(spec Spec) layout.MediaTypes {
	if spec.MediaTypes != "" {
		return spec.MediaTypes
	}
	return m.opts.MediaTypes
}

// ErrLockMismatch is wrapped by errors about a source that no longer
// resolves to the digest pinned in the lock file.
var ErrLockMismatch = errors.New("digest differs from the lock file")

func (m *mirror) mirrorOne(ctx context.Context, spec Spec) (Result, v1.Descriptor, error) {
	a, srcDigest, src, err := m.resolve(ctx, spec)
	if err != nil {
		return Result{}, v1.Descriptor{}, err
	}
	jobs, err := collect(a, src.Kind == Registry && !a.preselected)
	if err != nil {
		return Result{}, v1.Descriptor{}, err
	}
	var total int64
	for _, j := range jobs {
		total += j.Size
	}
	task := m.opts.Progress.Start("image "+spec.Name, total)
	err = m.store.PutAll(ctx, jobs, task)
	task.Done(err)
	if err != nil {
		return Result{}, v1.Descriptor{}, err
	}
	d, err := a.digest()
	if err != nil {
		return Result{}, v1.Descriptor{}, err
	}
	mt, err := a.mediaType()
	if err != nil {
		return Result{}, v1.Descriptor{}, err
	}
	platforms, single, err := m.platformsOf(a)
	if err != nil {
		return Result{}, v1.Descriptor{}, err
	}
	repo := Repository(spec)
	res := Result{
		Name:         spec.Name,
		Ref:          spec.Ref,
		Digest:       d.String(),
		MediaType:    string(mt),
		Size:         total,
		Platforms:    platforms,
		SourceDigest: srcDigest.String(),
		Repository:   repo,
	}
	ann := map[string]string{
		layout.AnnotationRefName:      spec.Name,
		layout.AnnotationName:         spec.Name,
		layout.AnnotationRepository:   repo,
		layout.AnnotationSource:       sourceLabel(spec.Ref, src),
		layout.AnnotationSourceDigest: srcDigest.String(),
	}
	// The source tag goes to the site registry only with the very manifest
	// it names upstream: a platform selection or a media type conversion
	// is pushed by digest alone, so two specs of one reference never fight
	// over a tag.
	if t := src.tag(); t != "" && d == srcDigest {
		ann[layout.AnnotationTag] = t
	}
	if len(spec.Platforms) > 0 {
		ann[layout.AnnotationPlatforms] = strings.Join(spec.Platforms, ",")
	}
	if m.mediaTypes(spec) == layout.OCI {
		ann[layout.AnnotationMediaTypes] = string(layout.OCI)
	}
	desc := v1.Descriptor{MediaType: mt, Digest: d, Size: jobs[0].Size, Annotations: ann, Platform: single}
	return res, desc, nil
}

// sourceLabel is the source as recorded in the layout: registry references
// as written, local sources by kind and base name only.
func sourceLabel(ref string, src Source) string {
	if src.Kind == Registry {
		return ref
	}
	return src.Kind.String() + ":" + filepath.Base(src.Path)
}

// platformsOf lists the platforms a stored artifact provides, reading
// configs back from the staging layout. single is set for an image.
func (m *mirror) platformsOf(a artifact) ([]string, *v1.Platform, error) {
	if a.idx != nil {
		im, err := a.idx.IndexManifest()
		if err != nil {
			return nil, nil, err
		}
		var out []string
		for _, d := range im.Manifests {
			if d.Platform != nil && d.Platform.OS != "unknown" {
				out = append(out, d.Platform.String())
			}
		}
		return out, nil, nil
	}
	mf, err := a.img.Manifest()
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(filepath.Join(m.store.Dir(), mf.Config.Digest.Hex))
	if err != nil {
		return nil, nil, fmt.Errorf("reading config back: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing config %s: %w", mf.Config.Digest, err)
	}
	p := cf.Platform()
	if p == nil || p.OS == "" {
		return nil, nil, nil
	}
	return []string{p.String()}, p, nil
}
