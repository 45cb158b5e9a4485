package progress

import "io"

// Writer wraps w so that every write is reported to t.
func Writer(w io.Writer, t Task) io.Writer { return &writer{w: w, t: t} }

type writer struct {
	w io.Writer
	t Task
}

func (p *writer) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.t.Add(int64(n))
	return n, err
}

// Reader wraps r so that every read is reported to t.
func Reader(r io.Reader, t Task) io.Reader { return &reader{r: r, t: t} }

type reader struct {
	r io.Reader
	t Task
}

func (p *reader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.t.Add(int64(n))
	return n, err
}
