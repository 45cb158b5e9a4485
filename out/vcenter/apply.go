package vcenter

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
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

// Options tune a deploy. None is a hook back into the caller: the
// caller verifies the bundle (Open takes the verified *Bundle) and pushes
// the images between Apply and Finish (Images, RecordImages).
type Options struct {
	// RequireBase, when set, makes Open refuse (before the plan is shown
	// or anything is changed) unless the site holds that release: the
	// datastore folder's state records the base's bundle.json digest, and
	// every serengeti/ file the new release takes from the base is there
	// with its sha256 (a *BaseError naming what is missing).
	RequireBase *BaseRequirement
	// DryRun opens without the lock: the plan is shown, nothing is
	// changed (see Deployment.DryRun).
	DryRun bool
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

// Deployment is one deploy of a verified bundle to one vCenter, its steps
// sequenced by the caller: Open (session, plan, and for a real run the
// lock and the plan made again under it), then either DryRun, or Apply
// (files and templates), the image push (Images, then RecordImages),
// and Finish (guest copy, the state naming the deployed bundle.json, the
// summary). Close releases the lock and logs out; until then every write
// of the state file is made under the lock.
type Deployment struct {
	s    *Session
	cfg  Config
	o    Options
	plan *DeployPlan
	lock *dsLock
	a    *applier
	// ended is set once a step failed or the run had nothing to change:
	// the later steps do nothing.
	ended  bool
	closed bool
}

// Open connects to vCenter and plans the deploy of b, a bundle the caller
// verified and built from the bundle.json it verified (NewBundle): every
// upload is held to b.SHA256. With changes to make and not opts.DryRun,
// it takes the datastore folder's lock and plans again under it: no other
// deploy writes the folder or its state until Close. The plan's items are
// sent to opts.Events.
func Open(ctx context.Context, b *Bundle, cfg Config, opts Options) (*Deployment, error) {
	opts.defaults()
	s, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.DatastorePath == "" {
		cfg.DatastorePath = defaultDatastorePath(b)
	}
	d := &Deployment{s: s, cfg: cfg, o: opts}
	plan, err := d.open(ctx, b)
	if err != nil {
		d.Close(ctx)
		return nil, redactErr(cfg, err)
	}
	d.plan = plan
	for i := range plan.Items {
		opts.Events(Event{Event: "plan", Item: &plan.Items[i]})
	}
	return d, nil
}

func (d *Deployment) open(ctx context.Context, b *Bundle) (*DeployPlan, error) {
	plan, err := planBundle(ctx, d.s, b, d.cfg)
	if err != nil {
		return nil, err
	}
	if d.o.RequireBase != nil {
		if err := d.o.RequireBase.check(plan); err != nil {
			return nil, err
		}
	}
	if d.o.DryRun || plan.Changes() == 0 {
		return plan, nil
	}
	// Changes are made under the lock, from a plan made again under
	// it: no other deploy writes the folder or its state meanwhile.
	if d.lock, err = acquireLock(ctx, d.s, plan.inv, d.cfg.DatastorePath, b, d.o); err != nil {
		return nil, err
	}
	if plan, err = planBundle(ctx, d.s, b, d.cfg); err != nil {
		return nil, err
	}
	plan.lock = d.lock
	return plan, nil
}

// Plan is the plan Open made (under the lock for a real run).
func (d *Deployment) Plan() *DeployPlan { return d.plan }

// Close releases the lock, if it is still this deploy's, and logs out.
// It may be called more than once.
func (d *Deployment) Close(ctx context.Context) {
	if d.closed {
		return
	}
	d.closed = true
	ctx = context.WithoutCancel(ctx)
	if d.lock != nil {
		_ = d.lock.release(ctx)
	}
	_ = d.s.Logout(ctx)
}

// DryRun is the outcome of a deploy that stops after the plan; it sends
// the summary to Events.
func (d *Deployment) DryRun() *Outcome {
	p := d.plan
	out := &Outcome{Bundle: p.Bundle, Version: p.Version, Plan: p, NoChanges: p.Changes() == 0, Done: []Item{}}
	d.o.Events(Event{Event: "summary", Result: out})
	return out
}

// Apply carries out the plan's files and templates (StepFiles,
// StepTemplates). It stops at the first failure, leaving the state file
// describing what is complete, so running the deploy again finishes the
// job. A plan with nothing to change ends here: the outcome says
// NoChanges and the summary is sent.
func (d *Deployment) Apply(ctx context.Context) (*Outcome, error) {
	plan := d.plan
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
		d.o.Events(Event{Event: "done", Item: &it})
	}
	d.a = &applier{s: d.s, p: plan, o: d.o, out: out, done: done}
	if plan.Changes() == 0 {
		out.NoChanges = true
		d.ended = true
		d.o.Events(Event{Event: "summary", Result: out})
		return out, nil
	}
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{{StepFiles, d.a.files}, {StepTemplates, d.a.templates}} {
		if err := step.run(ctx); err != nil {
			return out, d.fail(step.name, err)
		}
	}
	return out, nil
}

func (d *Deployment) fail(step string, err error) error {
	d.a.out.Failed = step
	d.ended = true
	return redactErr(d.cfg, err)
}

// ImagePush is the image step of a plan: push the OCI layout in LayoutDir
// to Registry.
type ImagePush struct {
	LayoutDir string
	Registry  string
}

// Images is what the caller pushes after Apply and before RecordImages;
// nil when the plan pushes no images (or Apply ended the run).
func (d *Deployment) Images() *ImagePush {
	if d.a == nil || d.ended || len(d.a.itemsOf(KindImages, Create)) == 0 {
		return nil
	}
	return &ImagePush{LayoutDir: filepath.Join(d.plan.b.Dir, manifest.ImagesDir), Registry: d.cfg.Registry}
}

// RecordImages takes the outcome of the push Images asked for: pushErr
// fails the step (StepImages); otherwise the state records the pushed
// image set, under the lock.
func (d *Deployment) RecordImages(ctx context.Context, pushed ImagesPushed, pushErr error) error {
	if d.Images() == nil {
		return nil
	}
	a := d.a
	a.out.Registry = d.cfg.Registry
	if pushErr != nil {
		return d.fail(StepImages, fmt.Errorf("pushing images to %s: %w", d.cfg.Registry, pushErr))
	}
	a.out.Pushed = &pushed
	for _, it := range a.itemsOf(KindImages, Create) {
		a.mu.Lock()
		a.st.Images[d.cfg.Registry] = it.SHA256
		a.mu.Unlock()
		if err := a.saveState(ctx); err != nil {
			return d.fail(StepImages, err)
		}
		a.done(it)
	}
	a.imagesDone = true
	return nil
}

// Finish copies the tree into the management server (StepGuest), then
// records in the state the deployed bundle.json's digest, the base a
// delta of a later release names, and sends the summary. A plan whose
// images were not recorded (RecordImages) fails at StepImages.
func (d *Deployment) Finish(ctx context.Context) (*Outcome, error) {
	a := d.a
	if a == nil {
		return nil, errors.New("vcenter: Finish before Apply")
	}
	if d.ended {
		return a.out, nil
	}
	if !a.imagesDone && len(a.itemsOf(KindImages, Create)) > 0 {
		return a.out, d.fail(StepImages, configErr("the target names registry %q but this deploy cannot push images", d.cfg.Registry))
	}
	if err := a.guest(ctx); err != nil {
		return a.out, d.fail(StepGuest, err)
	}
	// Every step is done: the state records the deployed bundle.json's
	// digest, the base a delta of a later release names.
	a.st.BundleSHA256 = d.plan.b.SHA256
	if err := a.saveState(ctx); err != nil {
		return a.out, d.fail(StepFiles, err)
	}
	d.ended = true
	d.o.Events(Event{Event: "summary", Result: a.out})
	return a.out, nil
}

type applier struct {
	s    *Session
	p    *DeployPlan
	o    Options
	out  *Outcome
	done func(Item)
	mu   sync.Mutex
	st   *deployState
	// imagesDone is set once RecordImages recorded the push.
	imagesDone bool
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
