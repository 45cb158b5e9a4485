package repo

import (
	"bufio"
	"errors"
	"strconv"
	"sync"

	"github.com/bdebundle/bundle/repo/rpm"
)

// ordered hands the packages' rendered elements to the three metadata
// writers in repository order while the scan is still running, so that
// compression overlaps reading. A package's elements are rendered into one
// pooled buffer by the worker that read it and written from there by each
// writer; the buffer goes back to the pool when the last writer is done
// with it. The scan admits a file only while the elements held stay within
// a window (orderedWindow packages, orderedBytes bytes), so memory is flat
// in the number of packages. Packages whose elements are in the spill file
// (reused by --update) are read from there; so is primary's element when
// its <time file> value is known only after the scan (no epoch given).
type ordered struct {
	mu sync.Mutex
	// writer wakes the writers, scan the scan's dispatcher; both wait on
	// mu. Each is signalled only when its waiter can go on, so a package
	// costs no wake-ups but one in orderedBatch.
	writer, scan *sync.Cond
	// slots[i] holds the i-th package's elements once rendered.
	slots []*elems
	// settled[i]: the i-th package is done with (rendered, reused or
	// failed); all before prefix are.
	settled []bool
	prefix  int
	// next[k] is the package stream k needs next; only the streams in
	// live count for admission.
	next [3]int
	live [3]bool
	held int
	// waiting: writers waiting; scanWaits: the dispatcher waits.
	waiting   int
	scanWaits bool
	aborted   bool
}

// elems is one package's rendered elements: primary's up to its <time
// file> value [0, split), primary's rest [split, prim), filelists
// [prim, files), other [files, len). When primary goes to the spill, split
// and prim are 0.
type elems struct {
	b                  *[]byte
	split, prim, files int
	refs               int // writers that have yet to write it
	size               int // counted against the window
}

// The window: the scan runs at most this many packages, or this many bytes
// of rendered elements, ahead of the slowest writer (beyond the few large
// files read first). Two workers reading in path order stay well within
// it; a larger one only holds more memory, which the CLI's soft heap limit
// turns into garbage collection. A waiting writer is woken when
// orderedBatch packages are ready for it, or the last ones.
// (Variables so that a test can shrink the window.)
var (
	orderedWindow = 128
	orderedBytes  = 1 << 20
)

const orderedBatch = 16

// errAborted stops the writers when the scan failed; the scan's error is
// the one reported.
var errAborted = errors.New("repodata writing aborted")

func newOrdered(n int, streamPrimary bool) *ordered {
	o := &ordered{slots: make([]*elems, n), settled: make([]bool, n), live: [3]bool{streamPrimary, true, true}}
	o.writer = sync.NewCond(&o.mu)
	o.scan = sync.NewCond(&o.mu)
	return o
}

// minNext is the first package a live stream still needs; o.mu is held.
func (o *ordered) minNext() int {
	m := len(o.slots)
	for k, live := range o.live {
		if live {
			m = min(m, o.next[k])
		}
	}
	return m
}

// admits reports whether package i may be read; o.mu is held.
func (o *ordered) admits(i int) bool {
	m := o.minNext()
	return o.aborted || i <= m || (i < m+orderedWindow && o.held < orderedBytes)
}

// admit blocks until package i may be read: it is within the window of
// the slowest stream, or it is the package that stream needs.
func (o *ordered) admit(i int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for !o.admits(i) {
		o.scanWaits = true
		if o.waiting > 0 {
			// Writers waiting for a batch may have one short of it
			// ready: the scan waits for them now.
			o.writer.Broadcast()
		}
		o.scan.Wait()
	}
	o.scanWaits = false
}

// put stores package i's elements. Those of the few large files read
// first (early) are not counted against the window: they are bounded in
// number, and may wait for the writers until the end.
func (o *ordered) put(i int, e *elems, early bool) {
	o.mu.Lock()
	e.refs = 0
	for _, live := range o.live {
		if live {
			e.refs++
		}
	}
	if !early {
		e.size = len(*e.b)
	}
	o.slots[i] = e
	o.held += e.size
	o.mu.Unlock()
}

// settle marks package i done with; a package settled without elements
// or a spill record failed, and the writers stop.
func (o *ordered) settle(i int, inSpill bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.settled[i] = true
	if o.slots[i] == nil && !inSpill {
		o.aborted = true
	}
	old := o.prefix
	for o.prefix < len(o.settled) && o.settled[o.prefix] {
		o.prefix++
	}
	// A waiting writer waits for the prefix to grow; it is woken when a
	// batch is ready, at the end, and whenever the scan waits for it (the
	// window is full).
	if o.waiting > 0 && o.prefix > old && (old/orderedBatch != o.prefix/orderedBatch || o.prefix == len(o.settled) || o.scanWaits) ||
		o.aborted {
		o.writer.Broadcast()
	}
}

// abort stops the writers and releases admit.
func (o *ordered) abort() {
	o.mu.Lock()
	o.aborted = true
	o.mu.Unlock()
	o.writer.Broadcast()
	o.scan.Broadcast()
}

// wait returns package i's elements for stream k (nil when they are in the
// spill file) once it is settled.
func (o *ordered) wait(k, i int) (*elems, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for !o.settled[i] && !o.aborted {
		o.waiting++
		o.writer.Wait()
		o.waiting--
	}
	if o.aborted {
		return nil, errAborted
	}
	return o.slots[i], nil
}

// done records that stream k has written package i.
func (o *ordered) done(k, i int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e := o.slots[i]; e != nil && o.live[k] {
		e.refs--
		if e.refs == 0 {
			o.held -= e.size
			o.slots[i] = nil
			if cap(*e.b) <= 256<<10 { // a large package's buffer is not kept
				elemsPool.Put(e.b)
			}
		}
	}
	o.next[k] = i + 1
	if o.scanWaits {
		o.scan.Signal()
	}
}

var elemsPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// render renders p's elements into a pooled buffer: all three, or (when
// primary goes to the spill) filelists and other.
func renderElems(p *rpm.Package, withPrimary bool) *elems {
	bp := elemsPool.Get().(*[]byte)
	b := (*bp)[:0]
	e := &elems{b: bp}
	if withPrimary {
		b = appendPrimaryHead(b, p)
		e.split = len(b)
		b = appendPrimaryTail(b, p)
		e.prim = len(b)
	}
	b = appendFilelists(b, p)
	e.files = len(b)
	b = appendOther(b, p)
	*bp = b
	return e
}

// streamFragments are the fragments of the three files for Index: from
// the slots, else from the spill. fileTime is written as every <time
// file>; primary's fragments come from the spill only when streamPrimary
// is false (the writer of primary then runs after the scan).
func (o *ordered) fragments(sp *spill, fileTime int64) fragments {
	ts := strconv.FormatInt(fileTime, 10)
	fromSpill := sp.fragments(fileTime)
	mk := func(k int, spilled elemWriter, write func(w *bufio.Writer, e *elems, b []byte) error) elemWriter {
		return func(w *bufio.Writer, i int) error {
			if !o.live[k] {
				return spilled(w, i)
			}
			e, err := o.wait(k, i)
			if err != nil {
				return err
			}
			if e == nil {
				err = spilled(w, i)
			} else {
				err = write(w, e, *e.b)
			}
			o.done(k, i)
			return err
		}
	}
	return fragments{
		primary: mk(0, fromSpill.primary, func(w *bufio.Writer, e *elems, b []byte) error {
			w.Write(b[:e.split])
			w.WriteString(ts)
			_, err := w.Write(b[e.split:e.prim])
			return err
		}),
		filelists: mk(1, fromSpill.filelists, func(w *bufio.Writer, e *elems, b []byte) error {
			_, err := w.Write(b[e.prim:e.files])
			return err
		}),
		other: mk(2, fromSpill.other, func(w *bufio.Writer, e *elems, b []byte) error {
			_, err := w.Write(b[e.files:])
			return err
		}),
	}
}
