package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// reporter is a progress.Reporter the CLI closes when the work is done.
type reporter interface {
	progress.Reporter
	Close()
}

// newReporter picks how long work is shown: nothing with -q, JSON lines on
// stderr with --json, bars on a terminal, plain lines otherwise.
func newReporter(g *Globals) reporter {
	switch {
	case g.Quiet:
		return nopReporter{}
	case g.JSON:
		return &jsonReporter{w: g.Err}
	case isTTY(g.Err):
		return &barReporter{p: mpb.New(mpb.WithOutput(g.Err), mpb.WithWidth(40))}
	}
	return &lineReporter{w: g.Err}
}

type nopReporter struct{}

func (nopReporter) Start(string, int64) progress.Task { return progress.Discard.Start("", 0) }
func (nopReporter) Close()                            {}

// barReporter draws one mpb bar per task.
type barReporter struct{ p *mpb.Progress }

func (r *barReporter) Start(name string, total int64) progress.Task {
	t := total
	if t <= 0 {
		t = 0
	}
	bar := r.p.AddBar(t,
		mpb.PrependDecorators(decor.Name(name, decor.WC{W: len(name) + 1, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Name(" "), decor.OnComplete(decor.Percentage(), "done")),
	)
	return &barTask{bar: bar, unknown: total <= 0}
}

func (r *barReporter) Close() { r.p.Wait() }

type barTask struct {
	bar     *mpb.Bar
	unknown bool
	n       atomic.Int64
}

func (t *barTask) Add(n int64) {
	if t.unknown {
		t.bar.SetTotal(t.n.Add(n)+1, false)
	}
	t.bar.IncrInt64(n)
}

func (t *barTask) Done(err error) {
	if err != nil {
		t.bar.Abort(false)
		return
	}
	t.bar.SetTotal(-1, true)
}

// lineReporter prints a line when a task starts, every interval while it
// runs, and when it ends. Sizes are the task's input (what it reads).
type lineReporter struct {
	mu    sync.Mutex
	w     io.Writer
	every time.Duration // how often a running task prints; 0 means progressEvery
}

// progressEvery is how often a running task prints where it is.
const progressEvery = 2 * time.Second

func (r *lineReporter) Start(name string, total int64) progress.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	if total > 0 {
		fmt.Fprintf(r.w, "%s (%s of input)...\n", name, progress.Bytes(total))
	} else {
		fmt.Fprintf(r.w, "%s...\n", name)
	}
	every := r.every
	if every <= 0 {
		every = progressEvery
	}
	t := &lineTask{runningTask: newRunningTask(&r.mu, name, total), r: r}
	go t.tick(every, t.report)
	return t
}

func (r *lineReporter) Close() {}

// runningTask is what the line and JSON tasks share: the counters a task
// adds to, and a ticker that reports it under the reporter's lock until it
// is done, so no report follows the task's last line or event.
type runningTask struct {
	mu    *sync.Mutex // the reporter's
	name  string
	total int64
	start time.Time
	n     atomic.Int64
	items atomic.Int64
	done  chan struct{}
	once  sync.Once
}

func newRunningTask(mu *sync.Mutex, name string, total int64) runningTask {
	return runningTask{mu: mu, name: name, total: total, start: time.Now(), done: make(chan struct{})}
}

func (t *runningTask) Add(n int64) { t.n.Add(n) }

// AddItems implements progress.ItemTask.
func (t *runningTask) AddItems(n int64) { t.items.Add(n) }

// tick calls report every interval, with the lock held, until the task is
// done.
func (t *runningTask) tick(every time.Duration, report func()) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tk.C:
			t.mu.Lock()
			select {
			case <-t.done:
			default:
				report()
			}
			t.mu.Unlock()
		}
	}
}

// finish marks the task done and reports whether this was the first call;
// the lock is held.
func (t *runningTask) finish() bool {
	first := false
	t.once.Do(func() { close(t.done); first = true })
	return first
}

type lineTask struct {
	runningTask
	r *lineReporter
}

// report prints where the task is; r.mu is held.
func (t *lineTask) report() {
	n, items, d := t.n.Load(), t.items.Load(), time.Since(t.start)
	count := ""
	if items > 0 {
		count = fmt.Sprintf("%d done (%.0f/s), ", items, float64(items)/d.Seconds())
	}
	if t.total > 0 {
		fmt.Fprintf(t.r.w, "%s: %s%s of %s input (%d%%), %s\n", t.name, count, progress.Bytes(n), progress.Bytes(t.total), n*100/t.total, rate(n, d))
	} else {
		fmt.Fprintf(t.r.w, "%s: %s%s of input so far, %s\n", t.name, count, progress.Bytes(n), rate(n, d))
	}
}

// rate formats n bytes over d as "12.3 MiB/s".
func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "- /s"
	}
	return progress.Bytes(int64(float64(n)/d.Seconds())) + "/s"
}

func (t *lineTask) Done(err error) {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	t.finish()
	if err != nil {
		fmt.Fprintf(t.r.w, "%s: failed: %v\n", t.name, err)
		return
	}
	d := time.Since(t.start)
	if n := t.n.Load(); n > 0 || t.total > 0 {
		fmt.Fprintf(t.r.w, "%s: done, %s of input in %s (%s)\n", t.name, progress.Bytes(n), d.Round(time.Millisecond), rate(n, d))
	} else {
		fmt.Fprintf(t.r.w, "%s: done in %s\n", t.name, d.Round(time.Millisecond))
	}
}

// jsonReporter writes one JSON object per line (NDJSON) for each event:
// "start" and "done" for every task, "progress" every interval while one
// runs, and, from the verbs that report them, "warning" and "error". Each
// names its step (the task; "task" carries the same name, as before).
type jsonReporter struct {
	mu    sync.Mutex
	w     io.Writer
	every time.Duration // how often a running task reports; 0 means progressEvery
}

type progressEvent struct {
	Event   string    `json:"event"` // start, progress, done, warning, error
	Step    string    `json:"step"`
	Task    string    `json:"task,omitempty"`
	Total   int64     `json:"total,omitempty"`
	Bytes   int64     `json:"bytes,omitempty"`
	Items   int64     `json:"items,omitempty"`
	MS      int64     `json:"ms,omitempty"`
	Error   string    `json:"error,omitempty"`
	Message string    `json:"message,omitempty"`
	Diag    *jsonDiag `json:"diagnostic,omitempty"`
	Result  any       `json:"result,omitempty"`
}

func (r *jsonReporter) emit(e progressEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.write(e)
}

// write writes e; r.mu is held.
func (r *jsonReporter) write(e progressEvent) {
	b, _ := json.Marshal(e)
	r.w.Write(append(b, '\n'))
}

func (r *jsonReporter) Start(name string, total int64) progress.Task {
	r.emit(progressEvent{Event: "start", Step: name, Task: name, Total: total})
	every := r.every
	if every <= 0 {
		every = progressEvery
	}
	t := &jsonTask{runningTask: newRunningTask(&r.mu, name, total), r: r}
	go t.tick(every, t.report)
	return t
}

func (r *jsonReporter) Close() {}

// diagnostics reports each diagnostic of step as a "warning" or "error"
// event.
func (r *jsonReporter) diagnostics(step string, diags []jsonDiag) {
	for i := range diags {
		r.emit(progressEvent{Event: diags[i].Severity, Step: step, Message: diags[i].Summary, Diag: &diags[i]})
	}
}

type jsonTask struct {
	runningTask
	r *jsonReporter
}

// report writes a "progress" event; r.mu is held.
func (t *jsonTask) report() {
	t.r.write(progressEvent{Event: "progress", Step: t.name, Task: t.name, Total: t.total, Bytes: t.n.Load(), Items: t.items.Load(), MS: time.Since(t.start).Milliseconds()})
}

// Done writes the step's "done" event, with the error when it failed.
func (t *jsonTask) Done(err error) {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	if !t.finish() {
		return // one "done" per step
	}
	e := progressEvent{Event: "done", Step: t.name, Task: t.name, Bytes: t.n.Load(), Items: t.items.Load(), MS: time.Since(t.start).Milliseconds()}
	if err != nil {
		e.Error = err.Error()
	}
	t.r.write(e)
}

// eventLogHandler writes log records as JSON lines into an event stream:
// a warning (or worse) is also a "warning" event of step.
type eventLogHandler struct {
	slog.Handler
	step string
}

func newEventLogHandler(w io.Writer, level slog.Level, step string) slog.Handler {
	return &eventLogHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}), step: step}
}

func (h *eventLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		r = r.Clone()
		r.AddAttrs(slog.String("event", "warning"), slog.String("step", h.step), slog.String("message", r.Message))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *eventLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventLogHandler{Handler: h.Handler.WithAttrs(as), step: h.step}
}

func (h *eventLogHandler) WithGroup(name string) slog.Handler {
	return &eventLogHandler{Handler: h.Handler.WithGroup(name), step: h.step}
}
