package zstdframe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// FrameSize is the input bytes per frame. It is part of the format's
// reproducibility: changing it changes the output.
const FrameSize = 4 << 20

// Options tune a Writer. Only Workers may change without changing the
// output.
type Options struct {
	// Level is the encoder level for compressible frames; 0 means
	// zstd.SpeedDefault.
	Level zstd.EncoderLevel
	// Workers is the number of frames compressed at once; 0 means
	// GOMAXPROCS.
	Workers int
}

type job struct {
	in, out []byte
	// segs is the frame's output in order: pieces of out (headers,
	// compressed blocks) and of in (the content of raw blocks, written
	// from the input without a copy into out).
	segs [][]byte
	done chan struct{}
}

// Writer compresses what is written to it into frames of FrameSize input
// bytes. It is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	cur     []byte
	pending *job
	work    chan *job
	order   chan *job
	free    chan *job
	wg      sync.WaitGroup
	written chan struct{}
	mu      sync.Mutex
	err     error
	closed  bool
}

// NewWriter returns a Writer that writes the zstd stream to w.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	level := opts.Level
	if level == 0 {
		level = zstd.SpeedDefault
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	z := &Writer{
		w:       w,
		work:    make(chan *job, workers),
		order:   make(chan *job, workers+1),
		free:    make(chan *job, workers+1),
		written: make(chan struct{}),
	}
	encs := make([][2]*zstd.Encoder, workers)
	for i := range encs {
		for j, l := range []zstd.EncoderLevel{level, zstd.SpeedFastest} {
			e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1),
				zstd.WithEncoderCRC(true), zstd.WithWindowSize(FrameSize))
			if err != nil {
				return nil, err
			}
			encs[i][j] = e
		}
	}
	for i := 0; i < workers+1; i++ {
		z.free <- &job{done: make(chan struct{}, 1)}
	}
	z.wg.Add(workers)
	for i := range workers {
		go func(enc, fast *zstd.Encoder) {
			defer z.wg.Done()
			for j := range z.work {
				if incompressible(fast, j.in, j.out[:0]) {
					j.out, j.segs = encodeMostlyStored(fast, j.out[:0], j.segs[:0], j.in)
				} else {
					j.out = enc.EncodeAll(j.in, j.out[:0])
					j.segs = append(j.segs[:0], j.out)
				}
				j.done <- struct{}{}
			}
		}(encs[i][0], encs[i][1])
	}
	go z.writeLoop()
	return z, nil
}

// sample is the size of each of the samples incompressible tries.
const sample = 32 << 10

// incompressible reports whether four samples spread over b all fail to
// shrink by 2% at the fastest level: then the frame is encoded without a
// match search where it looks incompressible (encodeMostlyStored).
func incompressible(fast *zstd.Encoder, b, scratch []byte) bool {
	if len(b) < 4*sample {
		return false
	}
	for i := range 4 {
		off := (len(b) - sample) * i / 3
		s := b[off : off+sample]
		if out := fast.EncodeAll(s, scratch[:0]); len(out) < sample*98/100 {
			return false
		}
	}
	return true
}

// storedBlock is the size of the raw blocks of a stored frame: the block
// size zstd's fastest level uses, so data none of whose blocks that level
// would compress comes out byte for byte as it would have encoded it.
const storedBlock = 64 << 10

// encodeMostlyStored encodes a frame that incompressible found
// incompressible without a match search: runs of storedBlock-sized blocks
// that look incompressible (few zero and space bytes: an RPM's headers hold
// many of both, compressed payloads almost none) become one stored frame
// each (appendStored), runs that look compressible are encoded at the
// fastest level as frames of their own. A frame without such a block is one
// stored frame, what the fastest level writes for it anyway. The output is
// segs, pieces of dst and of b in order: the content of raw blocks is not
// copied.
func encodeMostlyStored(fast *zstd.Encoder, dst []byte, segs [][]byte, b []byte) ([]byte, [][]byte) {
	mark := 0 // where the bytes of dst not yet in segs start
	emit := func(run []byte, compressible bool) {
		if compressible || len(run) < storedBlock {
			dst = fast.EncodeAll(run, dst)
			return
		}
		dst = appendStored(dst, run, func(d, raw []byte) {
			segs = append(segs, d[mark:], raw)
			mark = len(d)
		})
	}
	start, runKind := 0, false
	for off := 0; off < len(b); off += storedBlock {
		k := looksCompressible(b[off:min(off+storedBlock, len(b))])
		if off > start && k != runKind {
			emit(b[start:off], runKind)
			start = off
		}
		runKind = k
	}
	emit(b[start:], runKind)
	if mark < len(dst) {
		segs = append(segs, dst[mark:])
	}
	return dst, segs
}

// looksCompressible reports whether a block holds more than 1,024 zero
// bytes or 1,024 spaces: 64 KiB of random bytes hold 256 of each on average
// (the odds of random data passing either bound are nil), a tar header adds
// fewer than 512, RPM headers and text many more.
func looksCompressible(b []byte) bool {
	return bytes.Count(b, zero) > 1024 || bytes.Count(b, space) > 1024
}

var zero, space = []byte{0}, []byte{' '}

// appendStored appends b, at least storedBlock bytes, to dst as one zstd
// frame of raw blocks: the frame header (single segment, the content size
// in two bytes, less 256, or four, content checksum), a raw block per
// storedBlock bytes and the low 32 bits of b's XXH64. This is what
// klauspost/compress writes at the fastest level for data none of whose
// blocks compress, without its match search. Each block's content is
// appended to dst, or, when raw is set, given to raw after its block
// header is appended (in place of appending it), with dst as it is then.
func appendStored(dst, b []byte, raw func(dst, content []byte)) []byte {
	dst = append(dst, 0x28, 0xb5, 0x2f, 0xfd)
	if n := len(b); n < 65536+256 {
		dst = binary.LittleEndian.AppendUint16(append(dst, 0x64), uint16(n-256))
	} else {
		dst = binary.LittleEndian.AppendUint32(append(dst, 0xa4), uint32(n))
	}
	for off := 0; off < len(b); off += storedBlock {
		end := min(off+storedBlock, len(b))
		h := uint32(end-off) << 3 // block type 0: raw
		if end == len(b) {
			h |= 1 // last block
		}
		dst = append(dst, byte(h), byte(h>>8), byte(h>>16))
		if raw != nil {
			raw(dst, b[off:end])
		} else {
			dst = append(dst, b[off:end]...)
		}
	}
	return binary.LittleEndian.AppendUint32(dst, uint32(xxhash.Sum64(b)))
}

func (z *Writer) writeLoop() {
	defer close(z.written)
	for j := range z.order {
		<-j.done
		z.mu.Lock()
		failed := z.err != nil
		z.mu.Unlock()
		for _, s := range j.segs {
			if failed {
				break
			}
			if _, err := z.w.Write(s); err != nil {
				z.setErr(err)
				failed = true
			}
		}
		z.free <- j
	}
}

func (z *Writer) setErr(err error) {
	z.mu.Lock()
	if z.err == nil {
		z.err = err
	}
	z.mu.Unlock()
}

func (z *Writer) getErr() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.err
}

// Write buffers p, handing each full frame to a worker.
func (z *Writer) Write(p []byte) (int, error) {
	if z.closed {
		return 0, errors.New("zstdframe: write after Close")
	}
	if err := z.getErr(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		z.frame()
		k := min(len(p), FrameSize-len(z.cur))
		z.cur = append(z.cur, p[:k]...)
		p = p[k:]
		if len(z.cur) == FrameSize {
			z.flushFrame()
		}
	}
	return n, z.getErr()
}

// frame makes sure a frame is being filled.
func (z *Writer) frame() {
	if z.cur != nil {
		return
	}
	j := <-z.free
	if cap(j.in) < FrameSize {
		j.in = make([]byte, 0, FrameSize)
		// A frame never exceeds its input by more than the block and
		// frame headers.
		j.out = make([]byte, 0, FrameSize+FrameSize/1024+64)
	}
	z.cur = j.in[:0]
	z.pending = j
}

// ReadFrom reads r to its end straight into the frames (no buffer in
// between), as if what it read were written.
func (z *Writer) ReadFrom(r io.Reader) (int64, error) {
	if z.closed {
		return 0, errors.New("zstdframe: write after Close")
	}
	var n int64
	for {
		if err := z.getErr(); err != nil {
			return n, err
		}
		z.frame()
		k, err := r.Read(z.cur[len(z.cur):FrameSize])
		z.cur = z.cur[:len(z.cur)+k]
		n += int64(k)
		if len(z.cur) == FrameSize {
			z.flushFrame()
		}
		if err == io.EOF {
			return n, z.getErr()
		}
		if err != nil {
			return n, err
		}
	}
}

func (z *Writer) flushFrame() {
	j := z.pending
	j.in = z.cur
	z.cur, z.pending = nil, nil
	z.order <- j
	z.work <- j
}

// Close compresses the last partial frame, waits for every frame to be
// written and returns the first error.
func (z *Writer) Close() error {
	if z.closed {
		return z.getErr()
	}
	z.closed = true
	if len(z.cur) > 0 {
		z.flushFrame()
	}
	close(z.work)
	close(z.order)
	z.wg.Wait()
	<-z.written
	return z.getErr()
}
