package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/plainhttp"
	"github.com/bdebundle/bundle/internal/progress"
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

// Push pushes every image and index of the OCI layout at layoutDir to
// registry (host[:port]) under its repository (the layout's repository
// annotation), tagged with its source tag when it has one. Blobs and
// manifests the registry already holds are not uploaded again; every blob
// is hashed as it is sent. After each push the registry is asked for the
// digest, which must match the layout's.
func Push(ctx context.Context, layoutDir, registry string, opts PushOptions) ([]Pushed, error) {
	opts = opts.withDefaults()
	g, err := layout.LoadDir(layoutDir)
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
// pass, up to Options.Retries times (retry.Do).
func PushStream(ctx context.Context, walk layout.WalkFunc, registry string, opts PushOptions) ([]Pushed, error) {
	opts = opts.withDefaults()
	g, err := layout.LoadStream(ctx, walk)
	if err != nil {
		return nil, err
	}
	return push(ctx, g, &streamBlobs{walk: walk, docs: g.Docs}, registry, opts)
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

func targets(g *layout.Graph, registry string, opts PushOptions) ([]*target, error) {
	var nopts []name.Option
	if plainhttp.Allowed(registry, opts.Insecure) {
		nopts = append(nopts, name.Insecure)
	}
	var out []*target
	for _, d := range g.Entries {
		nm := d.Annotations[layout.AnnotationName]
		if nm == "" {
			nm = d.Annotations[layout.AnnotationRefName]
		}
		repo := d.Annotations[layout.AnnotationRepository]
		if repo == "" {
			if nm == "" {
				return nil, fmt.Errorf("%s: entry %s has neither a repository nor a name annotation", g.Where, d.Digest)
			}
			repo = RepositoryName(nm)
		}
		if nm == "" {
			nm = repo
		}
		r, err := name.NewRepository(strings.TrimSuffix(registry, "/")+"/"+repo, nopts...)
		if err != nil {
			return nil, fmt.Errorf("image %q: repository %q at %s: %w", nm, repo, registry, err)
		}
		t := &target{name: nm, repo: r, tag: d.Annotations[layout.AnnotationTag], desc: d}
		docs, blobs, err := g.Reach(d)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", nm, err)
		}
		t.manifests = docs
		for _, l := range blobs {
			if len(l.URLs) > 0 && !l.MediaType.IsDistributable() {
				continue // foreign layer: fetched from its URLs, never pushed
			}
			t.blobs = append(t.blobs, l)
		}
		out = append(out, t)
	}
	return out, nil
}

// pushState tracks one Push.
type pushState struct {
	opts    PushOptions
	ropts   []remote.Option
	targets []*target
	results []Pushed
	tasks   []progress.Task
}

func push(ctx context.Context, g *layout.Graph, src blobSource, registry string, opts PushOptions) ([]Pushed, error) {
	if opts.IndexSHA256 != "" && g.IndexSHA256 != opts.IndexSHA256 {
		return nil, fmt.Errorf("%s: %w: index.json hashes to sha256:%s, the verified one to sha256:%s (it changed since it was verified)", g.Where, layout.ErrDigestMismatch, g.IndexSHA256, opts.IndexSHA256)
	}
	targets, err := targets(g, registry, opts)
	if err != nil {
		return nil, err
	}
	ropts := opts.Remote(ctx)
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
			return fmt.Errorf("pushing image %q: %s %s is not in the layout", t.name, layout.Kind(d.MediaType), h)
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
				if errors.Is(uerr, layout.ErrDigestMismatch) || isAuthError(uerr) || !retriable(uerr) {
					return fmt.Errorf("pushing image %q to %s: %s %s: %w", t.name, t.repo.RegistryStr(), layout.Kind(d.MediaType), h, uerr)
				}
				mu.Lock()
				failed = append(failed, fmt.Errorf("pushing image %q to %s: %s %s: %w", t.name, t.repo.RegistryStr(), layout.Kind(d.MediaType), h, uerr))
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

// putManifests writes the manifests and indexes of t that the registry
// lacks, children first, then the tag; it checks the pushed digest.
func (st *pushState) putManifests(ctx context.Context, g *layout.Graph, t *target) (int, error) {
	n := 0
	for _, d := range t.manifests {
		ref := t.repo.Digest(d.Digest.String())
		if got, err := remote.Head(ref, st.ropts...); err == nil && got.Digest == d.Digest {
			continue
		}
		if err := remote.Put(ref, rawManifest{g.Docs[d.Digest], bodyMediaType(g.Docs[d.Digest], d.MediaType)}, st.ropts...); err != nil {
			return n, fmt.Errorf("writing %s %s: %w", layout.Kind(d.MediaType), d.Digest, err)
		}
		n++
	}
	if t.tag != "" {
		tag := t.repo.Tag(t.tag)
		if got, err := remote.Head(tag, st.ropts...); err != nil || got.Digest != t.desc.Digest {
			if err := remote.Put(tag, rawManifest{g.Docs[t.desc.Digest], bodyMediaType(g.Docs[t.desc.Digest], t.desc.MediaType)}, st.ropts...); err != nil {
				return n, fmt.Errorf("tagging %s: %w", tag, err)
			}
			n++
		}
	}
	return n, verifyPushed(t.repo.Digest(t.desc.Digest.String()), t.desc, st.ropts)
}

// bodyMediaType is the media type a manifest states itself, else the one
// its descriptor gives (the layout.OCI one for a Docker type): registries check the body's against the
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
	// does not is an layout.OCI document.
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
		return false, fmt.Errorf("%w: the registry holds %s %s as %d bytes, the layout's is %d bytes", layout.ErrDigestMismatch, layout.Kind(desc.MediaType), desc.Digest, n, desc.Size)
	}
	return true, nil
}

func verifyPushed(ref name.Digest, want v1.Descriptor, ropts []remote.Option) error {
	got, err := remote.Head(ref, ropts...)
	if err != nil {
		return fmt.Errorf("checking pushed manifest %s: %w", ref, err)
	}
	if got.Digest != want.Digest || got.Size != want.Size {
		return fmt.Errorf("%w: registry serves %s (%d bytes) for %s, layout has %s (%d bytes)", layout.ErrDigestMismatch, got.Digest, got.Size, ref, want.Digest, want.Size)
	}
	return nil
}

func (o PushOptions) withDefaults() PushOptions {
	o.Options = o.Options.WithDefaults()
	o.Progress = progress.Or(o.Progress)
	return o
}
