package callrec

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
)

// Call is one request a stand-in answered.
type Call struct {
	Method, Path string
	// Query is the raw query (force=true).
	Query  string
	Status int
	Body   []byte
}

func (c Call) String() string {
	if c.Query != "" {
		return c.Method + " " + c.Path + "?" + c.Query
	}
	return c.Method + " " + c.Path
}

// Write reports whether the call asked for a change (anything but GET).
func (c Call) Write() bool { return c.Method != http.MethodGet }

// Recorder holds the calls answered so far, in order. Its zero value is
// ready; it is safe for concurrent use.
type Recorder[C interface{ Write() bool }] struct {
	mu    sync.Mutex
	calls []C
}

// Add records a call.
func (r *Recorder[C]) Add(c C) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// Calls returns the calls recorded so far.
func (r *Recorder[C]) Calls() []C {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Writes returns the calls that asked for a change.
func (r *Recorder[C]) Writes() []C {
	var out []C
	for _, c := range r.Calls() {
		if c.Write() {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the calls recorded so far.
func (r *Recorder[C]) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// Route answers a request with a status and a value sent as JSON (nil:
// no body).
type Route func(r *http.Request, body []byte) (int, any)

// JSON serves route with mu held, recording every call in rec. When
// credentials returns "user:password", a request without those HTTP
// basic credentials is 401 with realm, and route is not called.
func JSON(rec *Recorder[Call], mu sync.Locker, realm string, credentials func() string, route Route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		defer mu.Unlock()
		c := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body}
		if want := credentials(); want != "" {
			if u, p, ok := r.BasicAuth(); !ok || u+":"+p != want {
				c.Status, c.Body = http.StatusUnauthorized, nil
				rec.Add(c)
				w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		st, out := route(r, body)
		c.Status = st
		rec.Add(c)
		if out == nil {
			w.WriteHeader(st)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		b, _ := json.Marshal(out)
		_, _ = w.Write(b)
	}
}
