package ctxio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/progress"
)

func TestReaderStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := Reader(ctx, strings.NewReader("hello world"))
	buf := make([]byte, 5)
	if n, err := r.Read(buf); n != 5 || err != nil || string(buf) != "hello" {
		t.Fatalf("read %d %q %v", n, buf[:n], err)
	}
	cancel()
	if n, err := r.Read(buf); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: read %d, err %v", n, err)
	}
	if _, ok := r.(io.WriterTo); ok {
		t.Error("Reader exposes io.WriterTo")
	}
}

func TestSHA256File(t *testing.T) {
	p := t.TempDir() + "/f"
	data := strings.Repeat("abc", 1<<19) // 1.5 MiB: more than one buffer
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var c progress.Counter
	sum, n, err := SHA256File(context.Background(), p, &c)
	want := sha256.Sum256([]byte(data))
	if err != nil || n != int64(len(data)) || sum != hex.EncodeToString(want[:]) || c.N.Load() != n {
		t.Fatalf("SHA256File = %s, %d, %v; counted %d", sum, n, err, c.N.Load())
	}
	if _, _, err := SHA256File(context.Background(), p+"-missing", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := SHA256File(ctx, p, nil); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), p) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestCountingReader(t *testing.T) {
	cr := &CountingReader{R: strings.NewReader("twelve bytes")}
	b, err := io.ReadAll(cr)
	if err != nil || string(b) != "twelve bytes" || cr.N != 12 {
		t.Fatalf("read %q, %v, counted %d; want 12 bytes", b, err, cr.N)
	}
}
