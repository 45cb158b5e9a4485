package vcenter

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bdebundle/bundle/internal/progress"
	iretry "github.com/bdebundle/bundle/internal/retry"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"golang.org/x/sync/errgroup"
)

// Options tune a deploy.
type Options struct {
	// Verify checks the bundle before anything is planned or touched and
	// returns the sha256 of the bundle.json it checked against; nil means
	// CheckFiles. Deploy reads bundle.json once more, refuses it unless it
	// has that digest, and uploads every file hashed against it.
	Verify func(ctx context.Context, bundleDir string) (manifestSHA256 string, err error)
	// RequireBase, when set, makes Deploy refuse (before the plan is shown
	// or anything is changed) unless the site holds that release: the
	// datastore folder's state records the base's bundle.json digest, and
	// every serengeti/ file the new release takes from the base is there
	// with its sha256 (a *BaseError naming what is missing).
	RequireBase *BaseRequirement
	// Bundle, when set, is the bundle to deploy, verified by the caller
	// and built from the bundle.json it verified (NewBundle): Deploy then
	// neither calls Verify nor reads bundle.json, and holds every upload
	// to Bundle.SHA256.
	Bundle *Bundle
	// PushImages pushes the OCI image layout in layoutDir to registry,
	// refusing a layout whose index.json does not hash to indexSHA256
	// (its entry in the verified bundle.json), and says what it sent.
	// Needed when the target names a registry and the bundle has images.
	PushImages func(ctx context.Context, layoutDir, registry, indexSHA256 string) (ImagesPushed, error)
	// DryRun stops after the plan.
	DryRun bool
	// OnPlan, when set, sees the plan before it is applied.
	OnPlan func(*DeployPlan)
	// Progress receives byte counts of every upload.
	Progress progress.Reporter
	// Events receives plan items, finished uploads and the summary.
	Events func(Event)
	// Parallel is the number of concurrent datastore uploads (default 4).
	Parallel int
	// Retries is how many times a transient upload failure is retried
	// (default 4); RetryDelay is the first back-off (default 500ms),
	// doubling each time.
	Retries    int
	RetryDelay time.Duration
	// BatchBytes and BatchFiles bound the uploads between two writes of
	// the state file (defaults 64 MiB and 64 files).
	BatchBytes int64
	BatchFiles int
	// LockTTL is how long the lock on the datastore folder is good for
	// without being renewed (default 1 hour); it is renewed at every
	// write of the state file. A lock past its expiry is taken over.
	LockTTL time.Duration
	// LockGrace is how long a lock without a readable owner file is
	// given to get one before it is taken over as a dead deploy's
	// (default 5s).
	LockGrace time.Duration
}

func (o *Options) defaults() {
	if o.Verify == nil {
		o.Verify = checkFiles
	}
	o.Progress = progress.Or(o.Progress)
	if o.Events == nil {
		o.Events = func(Event) {}
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 4
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 500 * time.Millisecond
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 64 << 20
	}
	if o.BatchFiles <= 0 {
		o.BatchFiles = 64
	}
	if o.LockTTL == 0 {
		o.LockTTL = time.Hour
	}
	if o.LockGrace <= 0 {
		o.LockGrace = 5 * time.Second
	}
}

// Event is one line of the machine-readable deploy log.
type Event struct {
	Event  string   `json:"event"` // "plan", "done", "summary"
	Item   *Item    `json:"item,omitempty"`
	Result *Outcome `json:"summary,omitempty"`
}

// ImagesPushed is what the image step sent to the registry.
type ImagesPushed struct {
	// Images counts the images pushed (those the registry had included);
	// Bytes the blob bytes sent, SkippedBytes those the registry had.
	Images       int   `json:"images"`
	Bytes        int64 `json:"bytes"`
	SkippedBytes int64 `json:"skipped_bytes"`
}

// Step names, in the order Apply runs them.
const (
	StepFiles     = "files"
	StepTemplates = "templates"
	StepImages    = "images"
	StepGuest     = "guest"
)

// Outcome is what a deploy did.
type Outcome struct {
	Bundle  string `json:"bundle"`
	Version string `json:"version"`
	// Done lists the items carried out, in order.
	Done []Item `json:"done"`
	// Uploads and UploadBytes count datastore uploads (retries included
	// once per file); Deleted counts removed files.
	Uploads     int   `json:"uploads"`
	UploadBytes int64 `json:"upload_bytes"`
	Deleted     int   `json:"deleted"`
	// Templates counts templates imported; Retried counts retried uploads.
	Templates int  `json:"templates"`
	Retried   int  `json:"retried"`
	NoChanges bool `json:"no_changes"`
	// Unchanged and UnchangedBytes count the datastore files left as
	// they were (skipped: they match the bundle); TemplatesUnchanged the
	// templates.
	Unchanged          int   `json:"unchanged"`
	UnchangedBytes     int64 `json:"unchanged_bytes"`
	TemplatesUnchanged int   `json:"templates_unchanged"`
	// Registry is where the images went; Pushed what was sent there (nil
	// when the plan pushed no images).
	Registry string        `json:"registry,omitempty"`
	Pushed   *ImagesPushed `json:"pushed,omitempty"`
	// Failed names the step that failed (StepFiles, ...); "" when none did.
	Failed string `json:"failed,omitempty"`
	// Plan is the plan that was carried out.
	Plan *DeployPlan `json:"-"`
}

// Deploy verifies the bundle in bundleDir, connects to vCenter, plans, and,
// unless opts.DryRun, applies the plan.
func Deploy(ctx context.Context, bundleDir string, cfg Config, opts Options) (*Outcome, error) {
	opts.defaults()
	b, err := verifiedBundle(ctx, bundleDir, opts)
	if err != nil {
		return nil, err
	}
	s, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = s.Logout(context.WithoutCancel(ctx)) }()
	if cfg.DatastorePath == "" {
		cfg.DatastorePath = defaultDatastorePath(b)
	}
	plan, err := planBundle(ctx, s, b, cfg)
	if err != nil {
		return nil, redactErr(cfg, err)
	}
	if opts.RequireBase != nil {
		if err := opts.RequireBase.check(plan); err != nil {
			return nil, err
		}
	}
	if !opts.DryRun && plan.Changes() > 0 {
		// Changes are made under the lock, from a plan made again under
		// it: no other deploy writes the folder or its state meanwhile.
		lock, err := acquireLock(ctx, s, plan.inv, cfg.DatastorePath, b, opts)
		if err != nil {
			return nil, redactErr(cfg, err)
		}
		defer func() { _ = lock.release(context.WithoutCancel(ctx)) }()
		if plan, err = planBundle(ctx, s, b, cfg); err != nil {
			return nil, redactErr(cfg, err)
		}
		plan.lock = lock
	}
	for i := range plan.Items {
		opts.Events(Event{Event: "plan", Item: &plan.Items[i]})
	}
	if opts.OnPlan != nil {
		opts.OnPlan(plan)
	}
	if opts.DryRun {
		out := &Outcome{Bundle: plan.Bundle, Version: plan.Version, Plan: plan, NoChanges: plan.Changes() == 0, Done: []Item{}}
		opts.Events(Event{Event: "summary", Result: out})
		return out, nil
	}
	out, err := Apply(ctx, s, plan, opts)
	return out, redactErr(cfg, err)
}

// verifiedBundle is opts.Bundle, else the bundle in bundleDir checked
// with opts.Verify and read again, refused unless its bundle.json is the
// one verified.
func verifiedBundle(ctx context.Context, bundleDir string, opts Options) (*Bundle, error) {
	if opts.Bundle != nil {
		return opts.Bundle, nil
	}
	verified, err := opts.Verify(ctx, bundleDir)
	if err != nil {
		var ve *manifest.VerifyError
		if !errors.As(err, &ve) {
			err = &manifest.VerifyError{Path: bundleDir, Err: err}
		}
		return nil, err
	}
	b, err := LoadBundle(bundleDir)
	if err != nil {
		return nil, err
	}
	if b.SHA256 != verified {
		return nil, &manifest.VerifyError{Path: bundleDir, Err: fmt.Errorf("bundle.json %w: it hashes to sha256:%s, the verified one to sha256:%s", ErrChanged, b.SHA256, verified)}
	}
	return b, nil
}

// Apply carries out plan. It stops at the first failure, leaving the state
// file describing what is complete, so running the deploy again finishes
// the job.
func Apply(ctx context.Context, s *Session, plan *DeployPlan, opts Options) (*Outcome, error) {
	opts.defaults()
	out := &Outcome{Bundle: plan.Bundle, Version: plan.Version, Plan: plan, Done: []Item{}}
	for _, it := range plan.Items {
		if it.Action != Leave {
			continue
		}
		switch it.Kind {
		case KindFile:
			out.Unchanged++
			out.UnchangedBytes += it.Size
		case KindTemplate:
			out.TemplatesUnchanged++
		}
	}
	done := func(it Item) {
		out.Done = append(out.Done, it)
		opts.Events(Event{Event: "done", Item: &it})
	}
	if plan.Changes() == 0 {
		out.NoChanges = true
		opts.Events(Event{Event: "summary", Result: out})
		return out, nil
	}
	a := &applier{s: s, p: plan, o: opts, out: out, done: done}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{{StepFiles, a.files}, {StepTemplates, a.templates}, {StepImages, a.images}, {StepGuest, a.guest}}
	for _, step := range steps {
		if err := step.run(ctx); err != nil {
			out.Failed = step.name
			return out, err
		}
	}
	// Every step is done: the state records the deployed bundle.json's
	// digest, the base a delta of a later release names.
	a.st.BundleSHA256 = plan.b.SHA256
	if err := a.saveState(ctx); err != nil {
		out.Failed = StepFiles
		return out, err
	}
	opts.Events(Event{Event: "summary", Result: out})
	return out, nil
}

type applier struct {
	s    *Session
	p    *DeployPlan
	o    Options
	out  *Outcome
	done func(Item)
	mu   sync.Mutex
	st   *deployState
}

func (a *applier) itemsOf(k Kind, actions ...Action) []Item {
	var out []Item
	for _, it := range a.p.Items {
		if it.Kind != k {
			continue
		}
		for _, act := range actions {
			if it.Action == act {
				out = append(out, it)
			}
		}
	}
	return out
}

func (a *applier) saveState(ctx context.Context) error {
	a.mu.Lock()
	st := a.st.clone()
	a.mu.Unlock()
	if a.p.lock != nil {
		if _, err := retry(ctx, a.o, func() error { return a.p.lock.check(ctx) }); err != nil {
			return err
		}
	}
	_, err := retry(ctx, a.o, func() error { return writeState(ctx, a.s, a.p.inv, a.p.DatastorePath, st) })
	return err
}

// files uploads the serengeti/ tree in batches, writing the state file
// after each, then deletes files no longer in the bundle.
func (a *applier) files(ctx context.Context) error {
	a.st = a.p.state.clone()
	a.st.Bundle, a.st.Version, a.st.BundleSHA256 = a.p.b.Name, a.p.b.Version, ""
	uploads := a.itemsOf(KindFile, Create, Update)
	deletes := a.itemsOf(KindFile, Delete)
	// Files about to be overwritten or removed leave the state first: a
	// half-written file must never be recorded as deployed.
	dirty := false
	for _, it := range append(append([]Item(nil), uploads...), deletes...) {
		if _, ok := a.st.Files[it.Name]; ok {
			delete(a.st.Files, it.Name)
			dirty = true
		}
	}
	if err := a.mkdirs(ctx, []string{""}); err != nil {
		return err
	}
	if dirty {
		if err := a.saveState(ctx); err != nil {
			return err
		}
	}
	if err := a.mkdirs(ctx, parentDirs(uploads)); err != nil {
		return err
	}
	for len(uploads) > 0 {
		n, size := 0, int64(0)
		for n < len(uploads) && n < a.o.BatchFiles && (n == 0 || size+uploads[n].Size <= a.o.BatchBytes) {
			size += uploads[n].Size
			n++
		}
		batch := uploads[:n]
		uploads = uploads[n:]
		err := a.uploadBatch(ctx, batch)
		if serr := a.saveState(context.WithoutCancel(ctx)); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
	}
	if len(deletes) > 0 {
		fm := object.NewFileManager(a.s.Vim)
		for _, it := range deletes {
			task, err := fm.DeleteDatastoreFile(ctx, a.p.dsPath(it.Name), a.p.inv.dc)
			if err == nil {
				err = task.Wait(ctx)
			}
			if err != nil && !fault.Is(err, &types.FileNotFound{}) {
				return vcErr("deleting "+it.Where, err)
			}
			a.out.Deleted++
			a.done(it)
		}
	}
	return a.saveState(ctx)
}

// parentDirs lists the distinct folders (relative to the datastore path)
// the items go to, deepest only.
func parentDirs(items []Item) []string {
	set := map[string]bool{}
	for _, it := range items {
		set[path.Dir(it.Name)] = true
	}
	var out []string
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func (a *applier) mkdirs(ctx context.Context, dirs []string) error {
	fm := object.NewFileManager(a.s.Vim)
	for _, d := range dirs {
		if d == "." {
			d = ""
		}
		if a.p.dirs[d] {
			continue
		}
		p := a.p.dsPath(d)
		err := fm.MakeDirectory(ctx, p, a.p.inv.dc, true)
		if err != nil && !fault.Is(err, &types.FileAlreadyExists{}) {
			return vcErr("creating folder "+p, err)
		}
		for q := d; ; q = path.Dir(q) {
			a.p.dirs[q] = true
			if q == "." || q == "" || q == "/" {
				break
			}
		}
		a.p.dirs[""] = true
	}
	return nil
}

func (a *applier) uploadBatch(ctx context.Context, batch []Item) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.o.Parallel)
	for _, it := range batch {
		g.Go(func() error {
			retried, err := a.uploadFile(gctx, it)
			a.mu.Lock()
			defer a.mu.Unlock()
			a.out.Retried += retried
			if err != nil {
				return err
			}
			a.st.Files[it.Name] = it.SHA256
			a.out.Uploads++
			a.out.UploadBytes += it.Size
			a.done(it)
			return nil
		})
	}
	return g.Wait()
}

// uploadFile puts one file on the datastore, retrying transient failures
// with exponential back-off.
func (a *applier) uploadFile(ctx context.Context, it Item) (retried int, err error) {
	dst := path.Join(a.p.DatastorePath, it.Name)
	retried, err = retry(ctx, a.o, func() error { return a.putOnce(ctx, dst, it) })
	if err != nil {
		return retried, vcErr("uploading "+it.file.Path+" to "+it.Where, err)
	}
	return retried, nil
}

// retry runs f until it succeeds, fails with a permanent error, or has
// been retried o.Retries times, backing off exponentially (retry.Do).
func retry(ctx context.Context, o Options, f func() error) (retried int, err error) {
	return iretry.Do(ctx, iretry.Policy{Retries: o.Retries, Backoff: o.RetryDelay}, transient, "vcenter retry", f)
}

func (a *applier) putOnce(ctx context.Context, dst string, it Item) error {
	f, err := openChecked(a.p.b.Dir, it.file)
	if err != nil {
		return err
	}
	defer f.Close()
	task := a.o.Progress.Start(it.file.Path, it.Size)
	up := soap.DefaultUpload
	up.ContentLength = it.Size
	err = a.p.inv.ds.Upload(ctx, progress.Reader(f, task), dst, &up)
	if err == nil {
		err = f.done()
	} else if f.err != nil {
		err = f.err
	}
	task.Done(err)
	return err
}

// transient reports whether err is worth retrying: a network failure
// (retry.Transient), an answer whose status says so (retry.Status), or a
// dropped connection that govmomi reports only in words.
func transient(err error) bool {
	if err == nil || errors.Is(err, ErrChanged) {
		return false
	}
	if iretry.Transient(err) || iretry.Status(httpStatus(err)) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "server closed") || strings.Contains(msg, "EOF")
}
