package ctxio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/bdebundle/bundle/internal/regular"
	"io"
	"sync"

	"github.com/bdebundle/bundle/internal/progress"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// SHA256File streams the file at path through SHA-256 and returns the
// lowercase hex digest and the byte count, reporting the bytes to t (nil
// reports nothing) and stopping when ctx is done. An error opening the file
// is returned as is (errors.Is(err, fs.ErrNotExist) holds for a missing
// file); a read error names the file.
func SHA256File(ctx context.Context, path string, t progress.Task) (string, int64, error) {
	f, err := regular.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	if t == nil {
		t = progress.Discard.Start("", 0)
	}
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := io.CopyBuffer(progress.Writer(h, t), Reader(ctx, f), *bp)
	if err != nil {
		return "", 0, fmt.Errorf("reading %q: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
