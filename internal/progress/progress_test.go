package progress

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestWriterAndReaderCountBytes(t *testing.T) {
	data := strings.Repeat("0123456789", 1000)
	var c Counter
	var dst bytes.Buffer
	// OneByteReader forces many small reads and writes.
	n, err := io.Copy(Writer(&dst, &c), Reader(iotest.OneByteReader(strings.NewReader(data)), &c))
	if err != nil || n != int64(len(data)) || dst.String() != data {
		t.Fatalf("copied %d bytes, err %v", n, err)
	}
	if got := c.N.Load(); got != 2*int64(len(data)) {
		t.Errorf("counted %d bytes, want %d (read and written)", got, 2*len(data))
	}
}

func TestWriterCountsShortWrites(t *testing.T) {
	var c Counter
	w := Writer(limitWriter{3}, &c)
	n, err := w.Write([]byte("hello"))
	if n != 3 || err == nil || c.N.Load() != 3 {
		t.Errorf("short write: n=%d err=%v counted %d", n, err, c.N.Load())
	}
}

type limitWriter struct{ max int }

func (l limitWriter) Write(b []byte) (int, error) {
	if len(b) > l.max {
		return l.max, io.ErrShortWrite
	}
	return len(b), nil
}

func TestCounterDone(t *testing.T) {
	var c Counter
	c.Done(nil)
	c.Done(errors.New("x"))
	if c.Errs.Load() != 1 {
		t.Errorf("Errs = %d, want 1", c.Errs.Load())
	}
}

func TestOr(t *testing.T) {
	task := Or(nil).Start("x", 10)
	task.Add(5) // must not panic
	task.Done(nil)
	r := reporterFunc(func(string, int64) Task { return &Counter{} })
	if _, ok := Or(r).Start("y", 1).(*Counter); !ok {
		t.Error("Or(r) did not return r")
	}
}

type reporterFunc func(string, int64) Task

func (f reporterFunc) Start(name string, total int64) Task { return f(name, total) }

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}, {1 << 40, "1.0 TiB"},
	} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
