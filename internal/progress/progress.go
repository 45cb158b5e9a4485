package progress

import "sync/atomic"

// Reporter starts tasks. Implementations must be safe for concurrent use.
type Reporter interface {
	// Start begins a task named name that will process total units
	// (bytes, or items when unit is "items"; total < 0 when unknown).
	Start(name string, total int64) Task
}

// Task is one unit of reported work.
type Task interface {
	// Add records n more units done.
	Add(n int64)
	// Done ends the task; err is nil on success.
	Done(err error)
}

// ItemTask is a Task that also counts items (files, packages) done, so
// that a task over many small items can show how many it has done.
type ItemTask interface {
	Task
	AddItems(n int64)
}

// AddItems records n more items done on t when t counts items.
func AddItems(t Task, n int64) {
	if it, ok := t.(ItemTask); ok {
		it.AddItems(n)
	}
}

// Discard is a Reporter that reports nothing.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Start(string, int64) Task { return nopTask{} }

type nopTask struct{}

func (nopTask) Add(int64)  {}
func (nopTask) Done(error) {}

// Or returns r, or Discard when r is nil.
func Or(r Reporter) Reporter {
	if r == nil {
		return Discard
	}
	return r
}

// Counter is a Task that only counts, useful in tests.
type Counter struct {
	N    atomic.Int64
	Errs atomic.Int64
}

// Add implements Task.
func (c *Counter) Add(n int64) { c.N.Add(n) }

// Done implements Task.
func (c *Counter) Done(err error) {
	if err != nil {
		c.Errs.Add(1)
	}
}
