package serve

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var b bytes.Buffer
	start := time.Now()
	Until(ctx, &b, "MARATHON_URL", "http://127.0.0.1:1")
	if b.String() != "MARATHON_URL=http://127.0.0.1:1\n" {
		t.Errorf("printed %q", b.String())
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 5*time.Second {
		t.Errorf("returned after %s, want when the context ended", d)
	}
}
