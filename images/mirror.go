package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
)

// Annotations written on every entry of the layout's index.json.
const (
	// AnnotationRefName is the OCI ref name: the spec name, so that
	// `skopeo inspect oci:DIR:NAME` finds the image.
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationName is the spec name (the `image` block label).
	AnnotationName = "io.github.bdebundle.image.name"
	// AnnotationRepository is the repository path at the site registry.
	AnnotationRepository = "io.github.bdebundle.image.repository"
	// AnnotationTag is the source tag, pushed to the site registry too.
	AnnotationTag = "io.github.bdebundle.image.tag"
	// AnnotationSource is the registry reference, or kind:basename for a
	// local source (never an absolute path).
	AnnotationSource = "io.github.bdebundle.image.source"
	// AnnotationSourceDigest is the digest the source resolved to (the one
	// the lock file pins); it differs from the entry's digest when a platform
	// was selected.
	AnnotationSourceDigest = "io.github.bdebundle.image.source-digest"
	// AnnotationPlatforms is the comma-separated list of requested platforms.
	AnnotationPlatforms = "io.github.bdebundle.image.platforms"
	// AnnotationMediaTypes is set to "oci" when Docker media types were
	// rewritten (Options.MediaTypes = OCI).
	AnnotationMediaTypes = "io.github.bdebundle.image.media-types"
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
	MediaTypes MediaTypes
}

// Options tune Lock, Mirror and Push.
type Options struct {
	// Workers bounds parallel image and blob transfers (default 4).
	Workers int
	// Keychain supplies registry credentials (default authn.DefaultKeychain:
	// Docker config and credential helpers).
	Keychain authn.Keychain
	// Insecure lists registry hosts (host or host:port) that may be
	// spoken to over plain HTTP. Pulling and pushing alike, plain HTTP is
	// spoken only to them and to loopback hosts (see registryTransport).
	Insecure []string
	// Progress receives one task per image (nil = progress.Discard).
	Progress progress.Reporter
	// Offline forbids network access: registry references are refused
	// unless their pinned digest is already in the layout being replaced.
	Offline bool
	// UpdateLock accepts a registry digest that differs from Spec.Digest
	// (Mirror) and re-resolves pinned specs (Lock).
	UpdateLock bool
	// Retries is how often a blob transfer that failed with a transient
	// error is tried again (default 3; negative = never).
	Retries int
	// Backoff is the wait before the first retry, doubled after each
	// (default 500ms).
	Backoff time.Duration
	// Transport is the HTTP transport for registries (default
	// remote.DefaultTransport with ConnectTimeout and an IdleTimeout on
	// every write). The HTTP policy of registryTransport wraps it.
	Transport http.RoundTripper
	// MediaTypes chooses how manifests are stored: Preserve (default) or
	// OCI.
	MediaTypes MediaTypes
	// AnswerTimeout bounds how long a registry's answer may take once a
	// request has been sent in full (default 2 minutes), so a registry
	// that stops answering fails the command instead of hanging it.
	AnswerTimeout time.Duration
	// Timeout, when set, is the default of AnswerTimeout, ConnectTimeout
	// and IdleTimeout, and half that of RequestTimeout (the CLI's
	// --registry-timeout).
	Timeout time.Duration
	// ConnectTimeout bounds connecting, TLS included (default 30s; only
	// for the default Transport).
	ConnectTimeout time.Duration
	// IdleTimeout bounds the wait for each read of an answer's body and
	// each write of a request (default 1 minute).
	IdleTimeout time.Duration
	// RequestTimeout bounds a whole request from the answer to the end of
	// its body (default 5 minutes), plus the time the body's announced
	// length takes at MinRate bytes per second (default 32 KiB/s): a
	// registry that drips its answer fails too.
	RequestTimeout time.Duration
	MinRate        int64
	// IndexSHA256, when set, is the sha256 of the index.json that was
	// verified (its bundle.json entry): Push and PushStream refuse a
	// layout whose index.json, as they read it, hashes to anything else.
	// The rest of the layout is named by digests from there.
	IndexSHA256 string
	// VerifyLocal makes Resolve read every blob of a local source
	// (oci-layout:, docker-archive:) and check its size and digest, as
	// Mirror does while copying: a missing or corrupt layer is then found
	// before anything is built.
	VerifyLocal bool
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	o.Progress = progress.Or(o.Progress)
	if o.Retries == 0 {
		o.Retries = 3
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Timeout > 0 {
		for _, d := range []*time.Duration{&o.AnswerTimeout, &o.ConnectTimeout, &o.IdleTimeout} {
			if *d <= 0 {
				*d = o.Timeout
			}
		}
		if o.RequestTimeout <= 0 {
			o.RequestTimeout = 2 * o.Timeout
		}
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = defaultRequestTimeout
	}
	if o.MinRate <= 0 {
		o.MinRate = defaultMinRate
	}
	if o.Transport == nil {
		o.Transport = newBaseTransport(o)
	}
	if o.MediaTypes == "" {
		o.MediaTypes = Preserve
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = defaultAnswerTimeout
	}
	return o
}

func (o Options) remote(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.Keychain),
		remote.WithTransport(newRegistryTransport(o)),
		remote.WithJobs(o.Workers),
		remote.WithRetryBackoff(remote.Backoff{Duration: o.Backoff, Factor: 2, Jitter: 0.1, Steps: o.Retries + 1}),
	}
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

// artifact is an image or an index, opened from a source.
type artifact struct {
	img v1.Image
	idx v1.ImageIndex
	// preselected is true when platforms were already applied (an entry
	// reused from the previous layout).
	preselected bool
}

func (a artifact) digest() (v1.Hash, error) {
	if a.idx != nil {
		return a.idx.Digest()
	}
	return a.img.Digest()
}

func (a artifact) mediaType() (types.MediaType, error) {
	if a.idx != nil {
		return a.idx.MediaType()
	}
	return a.img.MediaType()
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
	if err := opts.MediaTypes.check(); err != nil {
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
		opts:  opts,
		store: newStore(blobDir, opts),
		prev:  openPrevious(layoutDir),
	}
	m.store.prevDir = m.prev.blobDir
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
	if err := writeIndexJSON(stage, descs); err != nil {
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
			if err := s.MediaTypes.check(); err != nil {
				return fmt.Errorf("image %q: %w", s.Name, err)
			}
		}
	}
	return nil
}

type mirror struct {
	opts  Options
	store *store
	prev  previous
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
	a, srcDigest, err := open(ctx, src, m.opts)
	if err != nil {
		return artifact{}, v1.Hash{}, src, err
	}
	if spec.Digest != "" && srcDigest.String() != spec.Digest && !m.opts.UpdateLock {
		return artifact{}, v1.Hash{}, src, fmt.Errorf("%w: %s resolves to %s but the lock file pins %s; update the lock to accept the new digest", ErrLockMismatch, spec.Ref, srcDigest, spec.Digest)
	}
	a, err = selectPlatforms(a, spec.Platforms)
	if err != nil {
		return artifact{}, v1.Hash{}, src, err
	}
	if mts == OCI {
		if a, err = convertOCI(a); err != nil {
			return artifact{}, v1.Hash{}, src, fmt.Errorf("converting to OCI media types: %w", err)
		}
	}
	return a, srcDigest, src, nil
}

// mediaTypes is how spec's manifests are stored.
func (m *mirror) mediaTypes(spec Spec) MediaTypes {
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
		total += j.size
	}
	task := m.opts.Progress.Start("image "+spec.Name, total)
	err = m.store.putAll(ctx, jobs, task)
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
		AnnotationRefName:      spec.Name,
		AnnotationName:         spec.Name,
		AnnotationRepository:   repo,
		AnnotationSource:       sourceLabel(spec.Ref, src),
		AnnotationSourceDigest: srcDigest.String(),
	}
	// The source tag goes to the site registry only with the very manifest
	// it names upstream: a platform selection or a media type conversion
	// is pushed by digest alone, so two specs of one reference never fight
	// over a tag.
	if t := src.tag(); t != "" && d == srcDigest {
		ann[AnnotationTag] = t
	}
	if len(spec.Platforms) > 0 {
		ann[AnnotationPlatforms] = strings.Join(spec.Platforms, ",")
	}
	if m.mediaTypes(spec) == OCI {
		ann[AnnotationMediaTypes] = string(OCI)
	}
	desc := v1.Descriptor{MediaType: mt, Digest: d, Size: jobs[0].size, Annotations: ann, Platform: single}
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
	b, err := os.ReadFile(filepath.Join(m.store.dir, mf.Config.Digest.Hex))
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

// open opens a source and returns the artifact with the digest the
// reference resolves to.
func open(ctx context.Context, src Source, opts Options) (artifact, v1.Hash, error) {
	switch src.Kind {
	case Registry:
		desc, err := remote.Get(src.Ref, opts.remote(ctx)...)
		if err != nil {
			return artifact{}, v1.Hash{}, fmt.Errorf("fetching manifest: %w", err)
		}
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err != nil {
				return artifact{}, v1.Hash{}, err
			}
			return artifact{idx: boundedIndex{idx}}, desc.Digest, nil
		}
		if !desc.MediaType.IsImage() {
			return artifact{}, v1.Hash{}, fmt.Errorf("unsupported manifest media type %q", desc.MediaType)
		}
		img, err := desc.Image()
		if err != nil {
			return artifact{}, v1.Hash{}, err
		}
		return artifact{img: boundedImage{img}}, desc.Digest, nil
	case DockerArchive:
		if err := regular.Check(src.Path); err != nil {
			return artifact{}, v1.Hash{}, fmt.Errorf("reading docker archive: %w", err)
		}
		if err := checkTarJSON(src.Path); err != nil {
			return artifact{}, v1.Hash{}, fmt.Errorf("reading docker archive %q: %w", src.Path, err)
		}
		tb, err := tarball.ImageFromPath(src.Path, nil)
		img := boundedImage{tb}
		if err != nil {
			if terr := checkTar(src.Path); terr != nil {
				err = terr
			}
			return artifact{}, v1.Hash{}, fmt.Errorf("reading docker archive %q: %w", src.Path, err)
		}
		h, err := img.Digest()
		if err != nil {
			return artifact{}, v1.Hash{}, fmt.Errorf("reading docker archive %q: %w", src.Path, err)
		}
		return artifact{img: img}, h, nil
	case OCILayout:
		return openLayout(src.Path, src.Tag)
	}
	return artifact{}, v1.Hash{}, fmt.Errorf("unknown source kind %v", src.Kind)
}

// openLayout opens the image of the layout at dir named tag (or its only
// one). index.json and every manifest and index are read bounded and
// checked against their digests before anything is used (loadDirGraph).
func openLayout(dir, tag string) (artifact, v1.Hash, error) {
	g, err := loadDirGraph(dir)
	if err != nil {
		return artifact{}, v1.Hash{}, err
	}
	var found []v1.Descriptor
	var names []string
	for _, d := range g.entries {
		n := d.Annotations[AnnotationRefName]
		names = append(names, n)
		if tag == "" || n == tag {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0 && tag != "":
		return artifact{}, v1.Hash{}, fmt.Errorf("OCI layout %q has no image named %q (it has %q)", dir, tag, names)
	case len(found) == 0:
		return artifact{}, v1.Hash{}, fmt.Errorf("OCI layout %q holds no image", dir)
	case len(found) > 1 && tag == "":
		return artifact{}, v1.Hash{}, fmt.Errorf("OCI layout %q holds %d images (%q): name one with oci-layout:DIR:NAME", dir, len(found), names)
	case len(found) > 1:
		return artifact{}, v1.Hash{}, fmt.Errorf("OCI layout %q has %d images named %q", dir, len(found), tag)
	}
	d := found[0]
	a, err := g.artifactOf(filepath.Join(dir, "blobs", "sha256"), d)
	if err != nil {
		return artifact{}, v1.Hash{}, fmt.Errorf("reading OCI layout %q: %w", dir, err)
	}
	return a, d.Digest, nil
}

func parsePlatforms(ps []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range ps {
		p, err := v1.ParsePlatform(s)
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("invalid platform %q: want os/arch[/variant], such as linux/amd64", s)
		}
		if !slices.ContainsFunc(out, func(q v1.Platform) bool { return q.Equals(*p) }) {
			out = append(out, *p)
		}
	}
	return out, nil
}

// selectPlatforms applies a platform selection to an artifact.
func selectPlatforms(a artifact, platforms []string) (artifact, error) {
	want, err := parsePlatforms(platforms)
	if err != nil || len(want) == 0 || a.preselected {
		return a, err
	}
	if a.img != nil {
		cf, err := a.img.ConfigFile()
		if err != nil {
			return artifact{}, fmt.Errorf("reading image config: %w", err)
		}
		have := cf.Platform()
		if have == nil {
			have = &v1.Platform{}
		}
		if len(want) > 1 {
			return artifact{}, fmt.Errorf("platforms %q requested but the source is a single-platform image (%s)", platforms, have)
		}
		if !have.Satisfies(want[0]) {
			return artifact{}, fmt.Errorf("platform %s not available: the source is a single-platform image for %s", want[0], have)
		}
		return a, nil
	}
	im, err := a.idx.IndexManifest()
	if err != nil {
		return artifact{}, fmt.Errorf("reading index: %w", err)
	}
	var picked []v1.Descriptor
	for _, w := range want {
		i := slices.IndexFunc(im.Manifests, func(d v1.Descriptor) bool {
			return d.Platform != nil && d.Platform.Satisfies(w)
		})
		if i < 0 {
			var have []string
			for _, d := range im.Manifests {
				if d.Platform != nil {
					have = append(have, d.Platform.String())
				}
			}
			return artifact{}, fmt.Errorf("platform %s not in the index (it has %s)", w, strings.Join(have, ", "))
		}
		if !slices.ContainsFunc(picked, func(d v1.Descriptor) bool { return d.Digest == im.Manifests[i].Digest }) {
			picked = append(picked, im.Manifests[i])
		}
	}
	if len(want) == 1 {
		d := picked[0]
		if !d.MediaType.IsImage() {
			return artifact{}, fmt.Errorf("platform %s: entry %s is a %s, not an image", want[0], d.Digest, d.MediaType)
		}
		img, err := a.idx.Image(d.Digest)
		if err != nil {
			return artifact{}, fmt.Errorf("platform %s: %w", want[0], err)
		}
		return artifact{img: img}, nil
	}
	keep := map[v1.Hash]bool{}
	for _, d := range picked {
		keep[d.Digest] = true
	}
	idx := mutate.RemoveManifests(a.idx, func(d v1.Descriptor) bool { return !keep[d.Digest] })
	return artifact{idx: idx}, nil
}

// job is one blob to store. The first job of an artifact is its top
// manifest.
type job struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
	what   string
	// retry is set for network sources, whose transient failures are
	// worth another try.
	retry bool
}

func bytesJob(what string, h v1.Hash, b []byte) job {
	return job{digest: h, size: int64(len(b)), what: what, open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}}
}

// collect lists the blobs of an artifact: manifests, configs and layers,
// each once, top manifest first.
func collect(a artifact, retry bool) ([]job, error) {
	var jobs []job
	seen := map[v1.Hash]bool{}
	add := func(j job) {
		j.retry = retry
		if !seen[j.digest] {
			seen[j.digest] = true
			jobs = append(jobs, j)
		}
	}
	var walkImage func(img v1.Image) error
	var walkIndex func(idx v1.ImageIndex, depth int) error
	onPath := map[v1.Hash]bool{}
	walkImage = func(img v1.Image) error {
		raw, err := img.RawManifest()
		if err != nil {
			return fmt.Errorf("reading manifest: %w", err)
		}
		h, err := img.Digest()
		if err != nil {
			return err
		}
		add(bytesJob("manifest", h, raw))
		mf, err := img.Manifest()
		if err != nil {
			return fmt.Errorf("parsing manifest %s: %w", h, err)
		}
		if err := checkConfigSize(mf); err != nil {
			return fmt.Errorf("manifest %s: %w", h, err)
		}
		add(job{digest: mf.Config.Digest, size: mf.Config.Size, what: "config", open: func() (io.ReadCloser, error) {
			b, err := img.RawConfigFile()
			if err != nil {
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		}})
		for _, l := range mf.Layers {
			add(job{digest: l.Digest, size: l.Size, what: "layer", open: func() (io.ReadCloser, error) {
				layer, err := img.LayerByDigest(l.Digest)
				if err != nil {
					return nil, err
				}
				return layer.Compressed()
			}})
		}
		return nil
	}
	walkIndex = func(idx v1.ImageIndex, depth int) error {
		raw, err := idx.RawManifest()
		if err != nil {
			return fmt.Errorf("reading index: %w", err)
		}
		h, err := idx.Digest()
		if err != nil {
			return err
		}
		if onPath[h] {
			return fmt.Errorf("%w: index %s names itself", ErrTooDeep, h)
		}
		if depth > maxIndexDepth {
			return fmt.Errorf("%w: index %s is below %d indexes (the limit is %d)", ErrTooDeep, h, depth, maxIndexDepth)
		}
		onPath[h] = true
		defer delete(onPath, h)
		add(bytesJob("index", h, raw))
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("parsing index %s: %w", h, err)
		}
		for _, d := range im.Manifests {
			switch {
			case d.MediaType.IsIndex():
				child, err := idx.ImageIndex(d.Digest)
				if err != nil {
					return fmt.Errorf("index %s: %w", d.Digest, err)
				}
				if err := walkIndex(child, depth+1); err != nil {
					return err
				}
			case d.MediaType.IsImage():
				child, err := idx.Image(d.Digest)
				if err != nil {
					return fmt.Errorf("manifest %s: %w", d.Digest, err)
				}
				if err := walkImage(child); err != nil {
					return err
				}
			default:
				return fmt.Errorf("index %s: entry %s has unsupported media type %q", h, d.Digest, d.MediaType)
			}
		}
		return nil
	}
	var err error
	if a.idx != nil {
		err = walkIndex(a.idx, 0)
	} else {
		err = walkImage(a.img)
	}
	return jobs, err
}

// writeIndexJSON writes index.json (entries sorted by name) and oci-layout.
func writeIndexJSON(dir string, descs []v1.Descriptor) error {
	descs = slices.Clone(descs)
	sort.Slice(descs, func(i, j int) bool {
		return descs[i].Annotations[AnnotationName] < descs[j].Annotations[AnnotationName]
	})
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs}
	if im.Manifests == nil {
		im.Manifests = []v1.Descriptor{}
	}
	b, err := json.MarshalIndent(im, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing index.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing oci-layout: %w", err)
	}
	return nil
}

// previous is the layout being replaced, used as a cache: its blobs are
// copied instead of fetched, and offline builds take pinned registry images
// from it.
type previous struct {
	dir     string
	blobDir string
	g       *graph // nil when there is no readable previous layout
}

func openPrevious(dir string) previous {
	g, err := loadDirGraph(dir)
	if err != nil {
		return previous{}
	}
	return previous{dir: dir, blobDir: filepath.Join(dir, "blobs", "sha256"), g: g}
}

// lookup finds the entry mirrored earlier from the same reference, pinned
// digest and platforms.
func (p *previous) lookup(spec Spec, mt MediaTypes) (artifact, bool) {
	if p.g == nil || spec.Digest == "" {
		return artifact{}, false
	}
	for _, d := range p.g.entries {
		a := d.Annotations
		if a[AnnotationSource] != spec.Ref || a[AnnotationSourceDigest] != spec.Digest || a[AnnotationPlatforms] != strings.Join(spec.Platforms, ",") ||
			(a[AnnotationMediaTypes] == string(OCI)) != (mt == OCI) {
			continue
		}
		art, err := p.g.artifactOf(p.blobDir, d)
		if err != nil {
			return artifact{}, false
		}
		art.preselected = true
		return art, true
	}
	return artifact{}, false
}

// checkTarJSON refuses a docker archive whose JSON entries (manifest.json,
// the configs) are larger than the caps: go-containerregistry reads them
// whole into memory. Only the tar headers are read.
func checkTarJSON(path string) error {
	f, err := regular.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil // a damaged archive is reported by the reader
		}
		switch {
		case h.Name == "manifest.json" && h.Size > maxManifestSize:
			return fmt.Errorf("%w: manifest.json is %d bytes, the limit is %d", ErrTooLarge, h.Size, maxManifestSize)
		case strings.HasSuffix(h.Name, ".json") && h.Size > maxConfigSize:
			return fmt.Errorf("%w: %s is %d bytes, the limit for a config is %d", ErrTooLarge, h.Name, h.Size, maxConfigSize)
		}
	}
}

// checkTar reads a tar file to its end and says what is wrong with it.
func checkTar(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return checkTarEnd(f)
		}
		if err != nil {
			return fmt.Errorf("not a complete tar file: %w after %d entries", err, n)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("not a complete tar file: entry %q: %w", h.Name, err)
		}
	}
}

// checkTarEnd checks that a tar file ends with the end-of-archive marker
// (two zero blocks), which Go's tar reader does not insist on.
func checkTarEnd(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	const marker = 1024
	if st.Size()%512 != 0 || st.Size() < marker {
		return fmt.Errorf("not a complete tar file: %d bytes is not a whole number of 512-byte blocks (truncated?)", st.Size())
	}
	tail := make([]byte, marker)
	if _, err := f.ReadAt(tail, st.Size()-marker); err != nil {
		return err
	}
	for _, b := range tail {
		if b != 0 {
			return errors.New("not a complete tar file: no end-of-archive marker (truncated?)")
		}
	}
	return nil
}
