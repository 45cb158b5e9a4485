package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/internal/plainhttp"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/internal/retry"
)

// Pushed describes one image pushed to the site registry.
type Pushed struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	// Ref is the pinned reference at the site registry (SiteRef).
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	// Tag is the source tag also pushed ("" when the image has none).
	Tag string `json:"tag,omitempty"`
	// UploadedBytes counts blob bytes sent; SkippedBytes the bytes of
	// blobs the registry already had (or mounted from another repository).
	UploadedBytes int64 `json:"uploaded_bytes"`
	SkippedBytes  int64 `json:"skipped_bytes"`
	UploadedBlobs int   `json:"uploaded_blobs"`
	SkippedBlobs  int   `json:"skipped_blobs"`
	// Manifests counts the manifests and indexes (and the tag) written;
	// ones the registry already held are not written again.
	Manifests int `json:"manifests_written"`
}

// Changed reports whether pushing p sent anything to the registry.
func (p Pushed) Changed() bool { return p.UploadedBlobs > 0 || p.Manifests > 0 }

// WalkFunc reads an OCI layout as a stream of files, as a tar archive holds
// it: it calls visit for each regular file with its path relative to the
// layout root (index.json, blobs/sha256/<hex>), its size and its content.
// Files outside the layout are not visited. Each call reads the stream
// again from its start.
type WalkFunc func(ctx context.Context, visit func(rel string, size int64, r io.Reader) error) error

// Push pushes every image and index of the OCI layout at layoutDir to
// registry (host[:port]) under its repository (the layout's repository
// annotation), tagged with its source tag when it has one. Blobs and
// manifests the registry already holds are not uploaded again; every blob
// is hashed as it is sent. After each push the registry is asked for the
// digest, which must match the layout's.
func Push(ctx context.Context, layoutDir, registry string, opts Options) ([]Pushed, error) {
	opts = opts.withDefaults()
	g, err := loadDirGraph(layoutDir)
	if err != nil {
		return nil, err
	}
	src := &dirBlobs{dir: filepath.Join(layoutDir, "blobs", "sha256")}
	return push(ctx, g, src, registry, opts)
}

// PushStream is Push for a layout read as a stream (an OCI layout inside a
// bundle archive) without extracting it. The stream is read once for the
// manifests and, when the registry lacks blobs, once more to upload them in
// the stream's order; a blob whose upload fails is read again in a further
// pass, up to Options.Retries times.
func PushStream(ctx context.Context, walk WalkFunc, registry string, opts Options) ([]Pushed, error) {
	opts = opts.withDefaults()
	g, err := loadStreamGraph(ctx, walk)
	if err != nil {
		return nil, err
	}
	return push(ctx, g, &streamBlobs{walk: walk, docs: g.docs}, registry, opts)
}

// graph is an OCI layout's index.json with every manifest and index it
// reaches.
type graph struct {
	where string // for errors: the layout directory or "OCI layout"
	// indexSHA256 is the sha256 of the index.json bytes read.
	indexSHA256 string
	entries     []v1.Descriptor
	docs        map[v1.Hash][]byte
}

// loadDirGraph reads the layout at dir: index.json and every manifest and
// index it reaches, each a regular file bounded by its descriptor and the
// hard cap, and checked against its digest.
func loadDirGraph(dir string) (*graph, error) {
	raw, err := regular.ReadFile(filepath.Join(dir, "index.json"), maxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %q: %w", dir, err)
	}
	g := &graph{where: fmt.Sprintf("OCI layout %q", dir), docs: map[v1.Hash][]byte{}}
	blobDir := filepath.Join(dir, "blobs", "sha256")
	read := func(d v1.Descriptor) ([]byte, error) {
		return readLayoutBlob(blobDir, d, maxManifestSize)
	}
	if err := g.load(raw, read); err != nil {
		return nil, err
	}
	return g, nil
}

func loadStreamGraph(ctx context.Context, walk WalkFunc) (*graph, error) {
	var index []byte
	small := map[v1.Hash][]byte{}
	var kept int64
	err := walk(ctx, func(rel string, size int64, r io.Reader) error {
		if rel == "index.json" {
			b, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
			if err != nil {
				return fmt.Errorf("reading index.json: %w", err)
			}
			if len(b) > maxManifestSize {
				return fmt.Errorf("index.json: %w: more than %d bytes", ErrTooLarge, maxManifestSize)
			}
			index = b
			return nil
		}
		hx, ok := strings.CutPrefix(rel, "blobs/sha256/")
		if !ok || size < 0 || size > maxManifestSize {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, maxManifestSize+1))
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		if len(b) > 0 && len(b) <= maxManifestSize && b[0] == '{' {
			if h, err := v1.NewHash("sha256:" + hx); err == nil {
				if kept += int64(len(b)); kept > maxStreamDocs {
					return fmt.Errorf("%w: the OCI layout holds more than %d bytes of small JSON blobs", ErrTooLarge, maxStreamDocs)
				}
				small[h] = b
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if index == nil {
		return nil, errors.New("the OCI layout has no index.json")
	}
	g := &graph{where: "OCI layout", docs: map[v1.Hash][]byte{}}
	read := func(d v1.Descriptor) ([]byte, error) {
		b, ok := small[d.Digest]
		if !ok {
			if d.Size > maxManifestSize {
				return nil, fmt.Errorf("%w: the descriptor says %d bytes, the limit for a %s is %d", ErrTooLarge, d.Size, kind(d.MediaType), maxManifestSize)
			}
			return nil, os.ErrNotExist
		}
		return b, nil
	}
	if err := g.load(index, read); err != nil {
		return nil, err
	}
	return g, nil
}

// load parses index.json and reads every manifest and index it reaches,
// checking each against its digest. Indexes nest at most maxIndexDepth
// deep; an index that names itself, or one of the indexes above it, is
// refused (which its digest check already makes impossible).
func (g *graph) load(index []byte, read func(v1.Descriptor) ([]byte, error)) error {
	sum := sha256.Sum256(index)
	g.indexSHA256 = hex.EncodeToString(sum[:])
	var im v1.IndexManifest
	if err := json.Unmarshal(index, &im); err != nil {
		return fmt.Errorf("%s: index.json: %w", g.where, err)
	}
	g.entries = im.Manifests
	onPath := map[v1.Hash]bool{}
	var walk func(d v1.Descriptor, depth int) error
	walk = func(d v1.Descriptor, depth int) error {
		if onPath[d.Digest] {
			return fmt.Errorf("%s: %w: index %s names itself", g.where, ErrTooDeep, d.Digest)
		}
		if _, ok := g.docs[d.Digest]; ok {
			return nil
		}
		if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
			return fmt.Errorf("%s: %s has unsupported media type %q", g.where, d.Digest, d.MediaType)
		}
		if depth > maxIndexDepth {
			return fmt.Errorf("%s: %w: %s %s is below %d indexes (the limit is %d)", g.where, ErrTooDeep, kind(d.MediaType), d.Digest, depth, maxIndexDepth)
		}
		b, err := read(d)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", g.where, kind(d.MediaType), d.Digest, err)
		}
		if err := checkBytes(b, d); err != nil {
			return fmt.Errorf("%s: %s %s: %w", g.where, kind(d.MediaType), d.Digest, err)
		}
		g.docs[d.Digest] = b
		if d.MediaType.IsIndex() {
			var child v1.IndexManifest
			if err := json.Unmarshal(b, &child); err != nil {
				return fmt.Errorf("%s: index %s: %w", g.where, d.Digest, err)
			}
			onPath[d.Digest] = true
			for _, c := range child.Manifests {
				if err := walk(c, depth+1); err != nil {
					return err
				}
			}
			delete(onPath, d.Digest)
		}
		return nil
	}
	for _, d := range g.entries {
		if err := walk(d, 0); err != nil {
			return err
		}
	}
	return nil
}

func checkBytes(b []byte, d v1.Descriptor) error {
	if d.Digest.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", d.Digest.Algorithm)
	}
	s := sha256.Sum256(b)
	if got := hex.EncodeToString(s[:]); got != d.Digest.Hex {
		return fmt.Errorf("%w: content hashes to sha256:%s", ErrDigestMismatch, got)
	}
	if int64(len(b)) != d.Size {
		return fmt.Errorf("%w: %d bytes, descriptor says %d", ErrDigestMismatch, len(b), d.Size)
	}
	return nil
}

// target is one layout entry and where it goes.
type target struct {
	name string
	repo name.Repository
	tag  string
	desc v1.Descriptor
	// manifests lists the entry's manifests and indexes, children first.
	manifests []v1.Descriptor
	blobs     []v1.Descriptor
}

func (g *graph) targets(registry string, opts Options) ([]*target, error) {
	var nopts []name.Option
	if plainhttp.Allowed(registry, opts.Insecure) {
		nopts = append(nopts, name.Insecure)
	}
	var out []*target
	for _, d := range g.entries {
		nm := d.Annotations[AnnotationName]
		if nm == "" {
			nm = d.Annotations[AnnotationRefName]
		}
		repo := d.Annotations[AnnotationRepository]
		if repo == "" {
			if nm == "" {
				return nil, fmt.Errorf("%s: entry %s has neither a repository nor a name annotation", g.where, d.Digest)
			}
			repo = sanitizeRepo(nm)
		}
		if nm == "" {
			nm = repo
		}
		r, err := name.NewRepository(strings.TrimSuffix(registry, "/")+"/"+repo, nopts...)
		if err != nil {
			return nil, fmt.Errorf("image %q: repository %q at %s: %w", nm, repo, registry, err)
		}
		t := &target{name: nm, repo: r, tag: d.Annotations[AnnotationTag], desc: d}
		seen := map[v1.Hash]bool{}
		if err := g.collect(t, d, seen); err != nil {
			return nil, fmt.Errorf("image %q: %w", nm, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func (g *graph) collect(t *target, d v1.Descriptor, seen map[v1.Hash]bool) error {
	if seen[d.Digest] {
		return nil
	}
	seen[d.Digest] = true
	b := g.docs[d.Digest]
	if d.MediaType.IsIndex() {
		var im v1.IndexManifest
		if err := json.Unmarshal(b, &im); err != nil {
			return fmt.Errorf("index %s: %w", d.Digest, err)
		}
		for _, c := range im.Manifests {
			if err := g.collect(t, c, seen); err != nil {
				return err
			}
		}
	} else {
		var m v1.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if seen[l.Digest] {
				continue
			}
			seen[l.Digest] = true
			if len(l.URLs) > 0 && !l.MediaType.IsDistributable() {
				continue // foreign layer: fetched from its URLs, never pushed
			}
			t.blobs = append(t.blobs, l)
		}
	}
	t.manifests = append(t.manifests, d)
	return nil
}

// blobSource opens the blobs of a layout.
type blobSource interface {
	// upload calls up for each wanted blob, with a function opening its
	// content (nil when the blob is not there). Sources that can be read
	// in any order call up concurrently.
	each(ctx context.Context, want map[v1.Hash]v1.Descriptor, up func(h v1.Hash, open func() (io.ReadCloser, error)) error, workers int) error
	// once reports whether open may be called only once per blob.
	once() bool
}

type dirBlobs struct{ dir string }

func (s *dirBlobs) once() bool { return false }

func (s *dirBlobs) each(ctx context.Context, want map[v1.Hash]v1.Descriptor, up func(v1.Hash, func() (io.ReadCloser, error)) error, workers int) error {
	hs := make([]v1.Hash, 0, len(want))
	for h := range want {
		hs = append(hs, h)
	}
	slices.SortFunc(hs, func(a, b v1.Hash) int { return strings.Compare(a.Hex, b.Hex) })
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, h := range hs {
		g.Go(func() error {
			p := filepath.Join(s.dir, h.Hex)
			return up(h, func() (io.ReadCloser, error) { return os.Open(p) })
		})
		if gctx.Err() != nil {
			break
		}
	}
	return g.Wait()
}

type streamBlobs struct {
	walk WalkFunc
	docs map[v1.Hash][]byte
}

func (s *streamBlobs) once() bool { return true }

// each reads the stream once, uploading the wanted blobs as they come, one
// at a time. A wanted blob the stream does not hold is reported missing.
func (s *streamBlobs) each(ctx context.Context, want map[v1.Hash]v1.Descriptor, up func(v1.Hash, func() (io.ReadCloser, error)) error, _ int) error {
	done := map[v1.Hash]bool{}
	err := s.walk(ctx, func(rel string, size int64, r io.Reader) error {
		hx, ok := strings.CutPrefix(rel, "blobs/sha256/")
		if !ok {
			return nil
		}
		h, err := v1.NewHash("sha256:" + hx)
		if err != nil {
			return nil
		}
		if _, ok := want[h]; !ok || done[h] {
			return nil
		}
		done[h] = true
		used := false
		return up(h, func() (io.ReadCloser, error) {
			if used {
				return nil, errStreamUsed
			}
			used = true
			return io.NopCloser(r), nil
		})
	})
	if err != nil {
		return err
	}
	for h := range want {
		if !done[h] {
			if err := up(h, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// errStreamUsed is returned when a blob read from a stream is asked for a
// second time (a retried upload): the next pass reads it again.
var errStreamUsed = errors.New("blob stream already read; retried in the next pass")

// pushState tracks one Push.
type pushState struct {
	opts    Options
	ropts   []remote.Option
	targets []*target
	results []Pushed
	tasks   []progress.Task
}

func push(ctx context.Context, g *graph, src blobSource, registry string, opts Options) ([]Pushed, error) {
	if opts.IndexSHA256 != "" && g.indexSHA256 != opts.IndexSHA256 {
		return nil, fmt.Errorf("%s: %w: index.json hashes to sha256:%s, the verified one to sha256:%s (it changed since it was verified)", g.where, ErrDigestMismatch, g.indexSHA256, opts.IndexSHA256)
	}
	targets, err := g.targets(registry, opts)
	if err != nil {
		return nil, err
	}
	ropts := opts.remote(ctx)
	st := &pushState{opts: opts, ropts: ropts, targets: targets, results: make([]Pushed, len(targets)), tasks: make([]progress.Task, len(targets))}
	for i, t := range targets {
		st.results[i] = Pushed{Name: t.name, Repository: t.repo.RepositoryStr(), Digest: t.desc.Digest.String(),
			Ref: SiteRef(registry, t.repo.RepositoryStr(), t.desc.Digest.String()), Tag: t.tag}
	}

	// Which blobs each repository lacks, asked once per repository and
	// blob, in parallel. A blob two images of one repository share is
	// uploaded for the first and counted as present for the second.
	type need struct {
		t    int
		desc v1.Descriptor
		key  string
	}
	var needs []need
	keys := map[string]int{} // repo@digest → index into checks
	var checks []need
	for i, t := range targets {
		for _, b := range t.blobs {
			k := t.repo.String() + "@" + b.Digest.String()
			n := need{i, b, k}
			needs = append(needs, n)
			if _, ok := keys[k]; !ok {
				keys[k] = len(checks)
				checks = append(checks, n)
			}
		}
	}
	missing := make([]bool, len(checks))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(opts.Workers)
	for i, n := range checks {
		eg.Go(func() error {
			ok, err := blobExists(ectx, targets[n.t].repo, n.desc, st.ropts)
			if err != nil {
				return fmt.Errorf("pushing image %q to %s: %w", targets[n.t].name, registry, explain(err, registry))
			}
			missing[i] = !ok
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	// wanted: blob digest → the targets whose repository lacks it, in order.
	wanted := map[v1.Hash][]int{}
	want := map[v1.Hash]v1.Descriptor{}
	for _, n := range needs {
		r := &st.results[n.t]
		c := keys[n.key]
		if !missing[c] || checks[c].t != n.t {
			r.SkippedBlobs++
			r.SkippedBytes += n.desc.Size
			continue
		}
		wanted[n.desc.Digest] = append(wanted[n.desc.Digest], n.t)
		want[n.desc.Digest] = n.desc
	}
	var total = make([]int64, len(targets))
	for h, ts := range wanted {
		for _, t := range ts {
			total[t] += want[h].Size
		}
	}
	for i, t := range targets {
		st.tasks[i] = opts.Progress.Start("push "+t.name, total[i])
	}
	finish := func(err error) {
		for _, t := range st.tasks {
			t.Done(err)
		}
	}

	// Each retry is a further pass over the blobs whose upload failed
	// (from a stream, the only way to read a blob again).
	if len(want) > 0 {
		var fatal error
		_, err := retry.Do(ctx, retry.Policy{Retries: opts.Retries, Backoff: opts.Backoff},
			func(error) bool { return fatal == nil },
			"push retry", func() error {
				failed, err := st.uploadPass(ctx, src, want, wanted)
				if err != nil {
					fatal = err
					return err
				}
				for h := range want {
					if wanted[h] == nil {
						delete(want, h)
					}
				}
				return errors.Join(failed...)
			}, "blobs", blobCount(want))
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			finish(err)
			return nil, err
		}
	}

	eg, ectx = errgroup.WithContext(ctx)
	eg.SetLimit(opts.Workers)
	for i, t := range targets {
		eg.Go(func() error {
			n, err := st.putManifests(ectx, g, t)
			if err != nil {
				return fmt.Errorf("pushing image %q to %s: %w", t.name, registry, err)
			}
			st.results[i].Manifests = n
			return nil
		})
	}
	err = eg.Wait()
	finish(err)
	if err != nil {
		return nil, err
	}
	return st.results, nil
}

// blobCount logs the number of blobs still wanted when it is logged.
type blobCount map[v1.Hash]v1.Descriptor

func (b blobCount) LogValue() slog.Value { return slog.IntValue(len(b)) }

// uploadPass uploads the wanted blobs once. Blobs whose upload failed are
// returned (they stay in wanted); blobs done are removed from wanted. err
// is set for failures that another pass cannot mend.
func (st *pushState) uploadPass(ctx context.Context, src blobSource, want map[v1.Hash]v1.Descriptor, wanted map[v1.Hash][]int) (failed []error, err error) {
	var mu sync.Mutex
	// A pusher of its own for each pass: go-containerregistry remembers
	// a blob's failure for as long as its pusher lives.
	ropts := st.ropts
	if src.once() {
		// A blob read from a stream cannot be sent twice in one pass:
		// the passes are the retries.
		ropts = append(slices.Clone(ropts), remote.WithRetryBackoff(remote.Backoff{Duration: st.opts.Backoff, Factor: 2, Steps: 1}))
	}
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, err
	}
	ropts = append(slices.Clone(ropts), remote.Reuse(pusher))
	err = src.each(ctx, want, func(h v1.Hash, open func() (io.ReadCloser, error)) error {
		d := want[h]
		mu.Lock()
		ts := slices.Clone(wanted[h])
		mu.Unlock()
		if open == nil {
			t := st.targets[ts[0]]
			return fmt.Errorf("pushing image %q: %s %s is not in the layout", t.name, kind(d.MediaType), h)
		}
		var first *target
		for k, ti := range ts {
			t := st.targets[ti]
			n := &atomic.Int64{}
			bl := &blobLayer{desc: d, open: open, task: st.tasks[ti], n: n}
			var l v1.Layer = bl
			if k > 0 {
				// Mounted from the first repository when the registry
				// allows it; else uploaded again (from a stream: in the
				// next pass).
				if src.once() {
					bl.open = func() (io.ReadCloser, error) { return nil, errStreamUsed }
				}
				if first != nil {
					l = &remote.MountableLayer{Layer: bl, Reference: first.repo.Digest(h.String())}
				}
			}
			uerr := remote.WriteLayer(t.repo, l, ropts...)
			if uerr != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				uerr = explain(uerr, t.repo.RegistryStr())
				if errors.Is(uerr, ErrDigestMismatch) || isAuthError(uerr) || !retriable(uerr) {
					return fmt.Errorf("pushing image %q to %s: %s %s: %w", t.name, t.repo.RegistryStr(), kind(d.MediaType), h, uerr)
				}
				mu.Lock()
				failed = append(failed, fmt.Errorf("pushing image %q to %s: %s %s: %w", t.name, t.repo.RegistryStr(), kind(d.MediaType), h, uerr))
				mu.Unlock()
				return nil
			}
			if first == nil {
				first = t
			}
			mu.Lock()
			r := &st.results[ti]
			if up := n.Load(); up > 0 {
				r.UploadedBlobs++
				r.UploadedBytes += up
			} else {
				r.SkippedBlobs++
				r.SkippedBytes += d.Size
				st.tasks[ti].Add(d.Size)
			}
			wanted[h] = slices.DeleteFunc(wanted[h], func(x int) bool { return x == ti })
			if len(wanted[h]) == 0 {
				delete(wanted, h)
			}
			mu.Unlock()
		}
		return nil
	}, st.opts.Workers)
	return failed, err
}

// retriable reports whether a failed blob upload may succeed in another
// pass: transient network and server errors, and a stream already read.
func retriable(err error) bool {
	return errors.Is(err, errStreamUsed) || transient(err) || errors.Is(err, io.EOF)
}

// ErrAccessDenied is wrapped by errors about a registry that refused the
// credentials (or their absence).
var ErrAccessDenied = errors.New("access denied")

// explain adds what to do to errors whose cause is known.
func explain(err error, registry string) error {
	if isAuthError(err) {
		return fmt.Errorf("%w: the registry %s refused access (%v); give credentials for it in the Docker config (docker login %s)", ErrAccessDenied, registry, err, registry)
	}
	return err
}

func isAuthError(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden)
}

// putManifests writes the manifests and indexes of t that the registry
// lacks, children first, then the tag; it checks the pushed digest.
func (st *pushState) putManifests(ctx context.Context, g *graph, t *target) (int, error) {
	n := 0
	for _, d := range t.manifests {
		ref := t.repo.Digest(d.Digest.String())
		if got, err := remote.Head(ref, st.ropts...); err == nil && got.Digest == d.Digest {
			continue
		}
		if err := remote.Put(ref, rawManifest{g.docs[d.Digest], bodyMediaType(g.docs[d.Digest], d.MediaType)}, st.ropts...); err != nil {
			return n, fmt.Errorf("writing %s %s: %w", kind(d.MediaType), d.Digest, err)
		}
		n++
	}
	if t.tag != "" {
		tag := t.repo.Tag(t.tag)
		if got, err := remote.Head(tag, st.ropts...); err != nil || got.Digest != t.desc.Digest {
			if err := remote.Put(tag, rawManifest{g.docs[t.desc.Digest], bodyMediaType(g.docs[t.desc.Digest], t.desc.MediaType)}, st.ropts...); err != nil {
				return n, fmt.Errorf("tagging %s: %w", tag, err)
			}
			n++
		}
	}
	return n, verifyPushed(t.repo.Digest(t.desc.Digest.String()), t.desc, st.ropts)
}

// bodyMediaType is the media type a manifest states itself, else the one
// its descriptor gives (the OCI one for a Docker type): registries check the body's against the
// Content-Type, and layouts written by other tools do not always agree
// with it in their descriptors.
func bodyMediaType(raw []byte, desc types.MediaType) types.MediaType {
	var v struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if json.Unmarshal(raw, &v) == nil && (v.MediaType.IsImage() || v.MediaType.IsIndex()) {
		return v.MediaType
	}
	// Docker schema 2 documents must state their media type: one that
	// does not is an OCI document.
	switch desc {
	case types.DockerManifestList:
		return types.OCIImageIndex
	case types.DockerManifestSchema2:
		return types.OCIManifestSchema1
	}
	return desc
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// blobExists asks the registry whether repo holds blob desc. A registry
// that says it does, with a size that is not the blob's, is refused: what
// it holds under that digest is not the layout's blob, and the push would
// otherwise skip it.
func blobExists(ctx context.Context, repo name.Repository, desc v1.Descriptor, ropts []remote.Option) (bool, error) {
	l, err := remote.Layer(repo.Digest(desc.Digest.String()), append(slices.Clip(ropts), remote.WithContext(ctx))...)
	if err != nil {
		return false, err
	}
	ok, err := partial.Exists(l)
	if err != nil || !ok {
		return ok, err
	}
	n, err := l.Size()
	if err != nil {
		return false, err
	}
	if n != desc.Size {
		return false, fmt.Errorf("%w: the registry holds %s %s as %d bytes, the layout's is %d bytes", ErrDigestMismatch, kind(desc.MediaType), desc.Digest, n, desc.Size)
	}
	return true, nil
}

// blobLayer is a layout blob as go-containerregistry uploads it: its
// content is hashed as it is read and must match the descriptor.
type blobLayer struct {
	desc v1.Descriptor
	open func() (io.ReadCloser, error)
	task progress.Task
	n    *atomic.Int64
}

func (l *blobLayer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error) {
	return v1.Hash{}, errors.New("not known for a layout blob")
}
func (l *blobLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("not available for a layout blob")
}

func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.open()
	if err != nil {
		return nil, err
	}
	return &checkedReader{rc: rc, h: sha256.New(), want: l.desc, task: l.task, n: l.n}, nil
}

// checkedReader hashes what it reads and fails at the end when the content
// does not match the descriptor, so a changed blob is never committed.
type checkedReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want v1.Descriptor
	read int64
	task progress.Task
	n    *atomic.Int64
}

func (r *checkedReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	r.read += int64(n)
	if r.n != nil {
		r.n.Add(int64(n))
	}
	if r.task != nil {
		r.task.Add(int64(n))
	}
	if r.read > r.want.Size {
		return n, fmt.Errorf("%w: blob %s is longer than %d bytes", ErrDigestMismatch, r.want.Digest, r.want.Size)
	}
	if err == io.EOF {
		if r.read != r.want.Size {
			return n, fmt.Errorf("%w: blob %s is %d bytes, descriptor says %d", ErrDigestMismatch, r.want.Digest, r.read, r.want.Size)
		}
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want.Digest.Hex {
			return n, fmt.Errorf("%w: blob %s hashes to sha256:%s", ErrDigestMismatch, r.want.Digest, got)
		}
	}
	return n, err
}

func (r *checkedReader) Close() error { return r.rc.Close() }

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
