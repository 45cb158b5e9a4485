package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader of r whose reads fail with ctx's error once ctx is
// done, so a long copy stops promptly. It has only Read: io.Copy and
// io.CopyBuffer do not reach past it to r's io.WriterTo, so a buffer given
// to io.CopyBuffer is used.
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// CountingReader passes reads through to R and counts the bytes read in N.
type CountingReader struct {
	R io.Reader
	N int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
