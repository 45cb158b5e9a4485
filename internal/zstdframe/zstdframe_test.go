package zstdframe

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/zstd"
)

// corpus mixes text-like (compressible) and random (incompressible) runs
// of uneven lengths, so frames of both kinds and a partial last frame
// occur.
func corpus(n int) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	var b []byte
	for len(b) < n {
		switch rng.IntN(3) {
		case 0:
			for range rng.IntN(200_000) {
				b = append(b, "mesos marathon chronos zookeeper "[rng.IntN(8)*4:][:4]...)
			}
		case 1:
			// An RPM-header-like island, short enough for the samples of a
			// random frame to miss it (encodeMostlyStored compresses it).
			for range rng.IntN(3000) {
				b = append(b, 0, 0, 0, byte(rng.IntN(16)), 0, 0, 0, 6, '/', 'u', 's', 'r', 0)
			}
		default:
			r := make([]byte, rng.IntN(6<<20))
			for i := range r {
				r[i] = byte(rng.Uint32())
			}
			b = append(b, r...)
		}
	}
	return b[:n]
}

func compress(t testing.TB, data []byte, opts Options, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += chunk {
		if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSameBytesWhateverTheWorkersAndGOMAXPROCS(t *testing.T) {
	// Three frames of the corpus, one random frame with an RPM-header-like
	// island the samples miss, a partial frame.
	data := append(corpus(3*FrameSize), mixedFrame(t)...)
	data = append(data, corpus(12345)...)
	kinds := map[string]int{}
	for off := 0; off < len(data); off += FrameSize {
		f := data[off:min(off+FrameSize, len(data))]
		switch {
		case !incompressible(mustFast(t), f, nil):
			kinds["compressed"]++
		case !bytes.Equal(mostlyStored(mustFast(t), f), appendStored(nil, f, nil)):
			kinds["mixed"]++
		default:
			kinds["stored"]++
		}
	}
	if kinds["compressed"] == 0 || kinds["stored"] == 0 || kinds["mixed"] == 0 {
		t.Fatalf("frames by kind %v: the data no longer has frames of each kind", kinds)
	}
	want := compress(t, data, Options{Workers: 1}, 1<<20)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, tc := range []struct {
			workers, chunk int
		}{{0, 1 << 20}, {1, 100_000}, {2, 4096}, {3, FrameSize}, {8, 7 << 20}} {
			if got := compress(t, data, Options{Workers: tc.workers}, tc.chunk); !bytes.Equal(got, want) {
				t.Errorf("GOMAXPROCS %d, %d workers, writes of %d: %d bytes differ from the 1-worker %d bytes", procs, tc.workers, tc.chunk, len(got), len(want))
			}
		}
		// ReadFrom, mixed with writes, gives the same bytes.
		var buf bytes.Buffer
		w, err := NewWriter(&buf, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data[:1000])
		if n, err := w.ReadFrom(iotest.HalfReader(bytes.NewReader(data[1000 : len(data)-5000]))); err != nil || n != int64(len(data)-6000) {
			t.Fatalf("ReadFrom: %d, %v", n, err)
		}
		w.Write(data[len(data)-5000:])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("GOMAXPROCS %d: ReadFrom gave %d bytes that differ from the writes' %d", procs, buf.Len(), len(want))
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{1, 1000, FrameSize - 1, FrameSize, FrameSize + 1, 2*FrameSize + 77} {
		data := corpus(n)
		z := compress(t, data, Options{Workers: 2}, 64<<10)
		d, err := zstd.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(d)
		d.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: decoded %d bytes, err %v", n, len(got), err)
		}
	}
}

// TestZstdCLIReadsIt: the reference decoder takes the concatenated frames
// as one stream and checks each frame's checksum.
func TestZstdCLIReadsIt(t *testing.T) {
	if _, err := exec.LookPath("zstd"); err != nil {
		t.Fatal("zstd not found: install the Debian package zstd")
	}
	data := append(mixedFrame(t), corpus(2*FrameSize+999)...)
	z := compress(t, data, Options{}, 1<<20)
	cmd := exec.Command("zstd", "-d", "-c")
	cmd.Stdin = bytes.NewReader(z)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("zstd -d: %v: %s", err, stderr.String())
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("zstd -d gave %d bytes, want %d", out.Len(), len(data))
	}
	// A flipped byte inside a frame is caught by the frame checksum.
	bad := bytes.Clone(z)
	bad[len(bad)/2] ^= 0x40
	cmd = exec.Command("zstd", "-d", "-c")
	cmd.Stdin, cmd.Stdout = bytes.NewReader(bad), io.Discard
	if err := cmd.Run(); err == nil {
		t.Error("zstd -d accepted a damaged stream")
	}
}

func TestIncompressibleFramesCostLittle(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{9}))
	random := make([]byte, 2*FrameSize)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	if !incompressible(mustFast(t), random[:FrameSize], nil) {
		t.Error("random bytes not detected as incompressible")
	}
	text := bytes.Repeat([]byte("haproxy backend marathon "), FrameSize/25)
	if incompressible(mustFast(t), text, nil) {
		t.Error("text detected as incompressible")
	}
	// A frame that is random but for one compressible sample is
	// compressed at the configured level.
	mixed := bytes.Clone(random[:FrameSize])
	copy(mixed[len(mixed)-sample:], text)
	if incompressible(mustFast(t), mixed, nil) {
		t.Error("a frame with a compressible sample detected as incompressible")
	}
	z := compress(t, random, Options{}, 1<<20)
	if over := len(z) - len(random); over < 0 || over > 1024 {
		t.Errorf("random input: %d bytes out of %d in (overhead %d)", len(z), len(random), over)
	}
	if z := compress(t, text, Options{}, 1<<20); len(z) > len(text)/50 {
		t.Errorf("text: %d bytes out of %d in", len(z), len(text))
	}
}

func mustFast(t *testing.T) *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

// TestWriteErrorIsReturned: a failing destination stops the stream with
// its error, without hanging, however many frames are in flight.
func TestWriteErrorIsReturned(t *testing.T) {
	data := corpus(6 * FrameSize)
	for _, after := range []int{0, 1, 3} {
		w, err := NewWriter(&failWriter{after: after}, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for off := 0; off < len(data) && werr == nil; off += 1 << 20 {
			_, werr = w.Write(data[off : off+1<<20])
		}
		cerr := w.Close()
		if cerr == nil || cerr.Error() != "disk full" {
			t.Errorf("after %d frames: Close = %v (Write %v), want disk full", after, cerr, werr)
		}
		if _, err := w.Write([]byte("x")); err == nil {
			t.Error("Write after Close succeeded")
		}
	}
}

// TestStoredFrameIsTheFastestLevelsOutput: for data none of whose blocks
// compress, a stored frame is byte for byte what klauspost/compress writes
// at the fastest level (with the Writer's options), so skipping its match
// search keeps the format; zstd reads it, checksum included.
func TestStoredFrameIsTheFastestLevelsOutput(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{11}))
	fast, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true), zstd.WithWindowSize(FrameSize))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{storedBlock, storedBlock + 1, 65791, 65792, 4 * sample, storedBlock*3 + 1, FrameSize - 1, FrameSize} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		got := appendStored(nil, b, nil)
		if want := fast.EncodeAll(b, nil); !bytes.Equal(got, want) {
			t.Errorf("%d random bytes: stored frame of %d bytes differs from the fastest level's %d", n, len(got), len(want))
		}
		d, err := zstd.NewReader(bytes.NewReader(got))
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(d)
		d.Close()
		if err != nil || !bytes.Equal(back, b) {
			t.Errorf("%d bytes: decoded %d bytes, %v", n, len(back), err)
		}
	}
}

// TestMostlyStoredKeepsCompressibleRuns: in a frame the samples found
// incompressible, a run that looks compressible (an RPM header's zeros) is
// still compressed, the random rest stored; it all decodes back.
func TestMostlyStoredKeepsCompressibleRuns(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{12}))
	b := make([]byte, FrameSize)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	fast := mustFast(t)
	random := mostlyStored(fast, b)
	if want := appendStored(nil, b, nil); !bytes.Equal(random, want) {
		t.Errorf("random frame: %d bytes, want one stored frame of %d", len(random), len(want))
	}
	mixed := mixedFrame(t)
	if !incompressible(fast, mixed, nil) {
		t.Fatal("the samples found the header: the test no longer tests encodeMostlyStored")
	}
	z := mostlyStored(fast, mixed)
	if saved := len(random) - len(z); saved < len(rpmHeader)/2 {
		t.Errorf("a %d-byte compressible run saved %d bytes", len(rpmHeader), saved)
	}
	d, err := zstd.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got, err := io.ReadAll(d); err != nil || !bytes.Equal(got, mixed) {
		t.Fatalf("decoded %d bytes, %v", len(got), err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"random", b[:storedBlock], false},
		{"random with a tar header", append(make([]byte, 512), b[:storedBlock-512]...), false},
		{"rpm header", rpmHeader[:storedBlock], true},
		{"text", bytes.Repeat([]byte("backend marathon "), storedBlock/17), true},
	} {
		if got := looksCompressible(tc.b); got != tc.want {
			t.Errorf("%s: looksCompressible = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// rpmHeader is compressible like an RPM's header: binary index entries
// (many zero bytes) and file names.
var rpmHeader = bytes.Repeat([]byte("\x00\x00\x03\xe8\x00\x00\x00\x06/usr/share/doc/mesos\x00"), 200_000/33)

// mixedFrame is a random frame holding rpmHeader where incompressible's
// samples do not look.
func mixedFrame(t *testing.T) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{12}))
	b := make([]byte, FrameSize)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	copy(b[1_000_003:], rpmHeader)
	return b
}

// mostlyStored is encodeMostlyStored's output joined.
func mostlyStored(fast *zstd.Encoder, b []byte) []byte {
	_, segs := encodeMostlyStored(fast, nil, nil, b)
	return bytes.Join(segs, nil)
}
