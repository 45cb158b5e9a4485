package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/plainhttp"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The one HTTP policy for every registry request, pulling (lock, build,
// validate) and pushing alike (registryTransport):
//
//   - plain HTTP only to loopback hosts and hosts named with
//     --insecure-registry (go-containerregistry on its own falls back to
//     HTTP for RFC 1918 and *.local hosts);
//   - redirects: a blob download (GET or HEAD of /v2/<name>/blobs/<digest>)
//     may be redirected to another host, as the distribution spec allows
//     for blob storage (S3, a CDN), since what comes back is checked
//     against its digest; every other request (manifests, tags, uploads,
//     the API check) only to the same host, so no manifest, token or
//     upload is ever sent or taken elsewhere;
//   - deadlines: the connection (ConnectTimeout), the answer once the
//     request is sent (AnswerTimeout), every read of the answer's body
//     (IdleTimeout) and the whole request (RequestTimeout, plus the time
//     the body takes at MinRate), so a registry that accepts and never
//     answers, or drips its answer, fails the command;
//   - manifests and indexes are read up to layout.MaxManifestSize, whatever the
//     registry says their size is.

// ErrNoAnswer is wrapped by errors about a registry that stopped answering
// (no answer, a stalled body, or a request past its deadline).
var ErrNoAnswer = errors.New("the registry did not answer")

// ErrPlainHTTP is wrapped by errors about a registry that would be spoken
// to over plain HTTP without being named insecure.
var ErrPlainHTTP = errors.New("plain HTTP refused")

// ErrRedirect is wrapped by errors about a redirect the policy refuses.
var ErrRedirect = errors.New("redirect refused")

// Default deadlines (Options).
const (
	defaultConnectTimeout = 30 * time.Second
	defaultAnswerTimeout  = 2 * time.Minute
	defaultIdleTimeout    = time.Minute
	defaultRequestTimeout = 5 * time.Minute
	defaultMinRate        = 32 << 10 // bytes per second
)

// newBaseTransport is the default transport: go-containerregistry's, with
// the connection deadline and an idle deadline on every write (a registry
// that stops reading an upload).
func newBaseTransport(o Options) http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &writeDeadlineConn{Conn: c, idle: o.IdleTimeout}, nil
	}
	t.TLSHandshakeTimeout = o.ConnectTimeout
	return t
}

// writeDeadlineConn fails a write the peer does not take within idle.
type writeDeadlineConn struct {
	net.Conn
	idle time.Duration
}

func (c *writeDeadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// registryTransport applies the HTTP policy above to base.
type registryTransport struct {
	base     http.RoundTripper
	insecure []string
	answer   time.Duration
	idle     time.Duration
	request  time.Duration
	minRate  int64
}

func newRegistryTransport(o Options) *registryTransport {
	return &registryTransport{base: o.Transport, insecure: o.Insecure, answer: o.AnswerTimeout,
		idle: o.IdleTimeout, request: o.RequestTimeout, minRate: o.MinRate}
}

// isBlobRead reports whether req reads a blob (GET or HEAD of
// /v2/<name>/blobs/<digest>).
func isBlobRead(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	i := strings.LastIndex(req.URL.Path, "/blobs/")
	return strings.HasPrefix(req.URL.Path, "/v2/") && i > 0 && !strings.Contains(req.URL.Path[i+len("/blobs/"):], "/")
}

func isManifestRead(req *http.Request) bool {
	return req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/v2/") && strings.Contains(req.URL.Path, "/manifests/")
}

// checkRedirect applies the redirect policy to req, a request made to
// follow a redirect answer to first.
func (t *registryTransport) checkRedirect(first, req *http.Request) error {
	if req.URL.Host == first.URL.Host {
		if first.URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: %s %s redirects from HTTPS to %s", ErrRedirect, first.Method, first.URL.Redacted(), req.URL.Redacted())
		}
		return nil
	}
	if !isBlobRead(first) {
		return fmt.Errorf("%w: %s %s redirects to another host (%s); only blob downloads may be redirected", ErrRedirect, first.Method, first.URL.Redacted(), req.URL.Host)
	}
	if req.URL.Scheme != "https" && !plainhttp.Allowed(req.URL.Host, t.insecure) {
		return fmt.Errorf("%w: the blob %s redirects to plain HTTP at %s", ErrRedirect, first.URL.Redacted(), req.URL.Host)
	}
	return nil
}

func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	refuse := func(err error) (*http.Response, error) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if req.Response != nil {
		// Following a redirect: the first request of the chain is the
		// one the policy looks at.
		first := req.Response.Request
		for first.Response != nil {
			first = first.Response.Request
		}
		if err := t.checkRedirect(first, req); err != nil {
			return refuse(err)
		}
	}
	if req.URL.Scheme == "http" && !plainhttp.Allowed(req.URL.Host, t.insecure) {
		return refuse(fmt.Errorf("%w for registry %s: it is neither loopback nor named with --insecure-registry", ErrPlainHTTP, req.URL.Host))
	}

	ctx, cancel := context.WithCancelCause(req.Context())
	what := req.Method + " " + req.URL.Redacted()
	var deadline atomic.Pointer[time.Timer]
	arm := func(d time.Duration, format string) {
		t := time.AfterFunc(d, func() { cancel(fmt.Errorf("%w: "+format, ErrNoAnswer, d)) })
		if old := deadline.Swap(t); old != nil {
			old.Stop()
		}
	}
	// The answer's clock starts when the request has been sent in full.
	var started sync.Once
	startAnswer := func() { started.Do(func() { arm(t.answer, "no answer within %s") }) }
	req = req.Clone(ctx)
	if req.Body == nil || req.Body == http.NoBody {
		startAnswer()
	} else {
		req.Body = &startAtEOF{ReadCloser: req.Body, start: startAnswer}
	}
	resp, err := t.base.RoundTrip(req)
	stop := func() {
		if tm := deadline.Load(); tm != nil {
			tm.Stop()
		}
	}
	if err != nil {
		stop()
		if cause := context.Cause(ctx); errors.Is(cause, ErrNoAnswer) {
			err = fmt.Errorf("%s: %w", what, cause)
		}
		cancel(nil)
		return nil, err
	}
	if isManifestRead(req) && resp.ContentLength > layout.MaxManifestSize {
		stop()
		resp.Body.Close()
		cancel(nil)
		return nil, fmt.Errorf("%s: %w: the registry announces %d bytes, the limit for a manifest is %d", what, layout.ErrTooLarge, resp.ContentLength, layout.MaxManifestSize)
	}
	// The whole answer must come within RequestTimeout, plus the time its
	// announced length takes at MinRate.
	whole := t.request
	if resp.ContentLength > 0 && t.minRate > 0 {
		whole += time.Duration(resp.ContentLength/t.minRate) * time.Second
	}
	arm(whole, "the answer did not finish within %s")
	body := &guardedBody{rc: resp.Body, ctx: ctx, what: what, idle: t.idle, cancel: cancel, stop: stop, limit: -1}
	if isManifestRead(req) {
		body.limit = layout.MaxManifestSize
	}
	body.arm()
	resp.Body = body
	return resp, nil
}

// guardedBody is an answer's body under the deadlines: each read must
// bring a byte within idle, the whole body must come before the request's
// deadline, and a manifest stops at its limit.
type guardedBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	what   string
	idle   time.Duration
	cancel context.CancelCauseFunc
	stop   func()
	limit  int64 // bytes still allowed (-1 = no limit)

	mu    sync.Mutex
	timer *time.Timer
	err   error
}

func (b *guardedBody) arm() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timer = time.AfterFunc(b.idle, func() {
		b.cancel(fmt.Errorf("%w: no data for %s", ErrNoAnswer, b.idle))
	})
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.limit >= 0 && int64(len(p)) > b.limit+1 {
		p = p[:b.limit+1]
	}
	n, err := b.rc.Read(p)
	if n > 0 {
		b.arm()
	}
	if b.limit >= 0 {
		if int64(n) > b.limit {
			b.err = fmt.Errorf("%s: %w: a manifest of more than %d bytes", b.what, layout.ErrTooLarge, layout.MaxManifestSize)
			return 0, b.err
		}
		b.limit -= int64(n)
	}
	if err != nil && err != io.EOF {
		if cause := context.Cause(b.ctx); errors.Is(cause, ErrNoAnswer) {
			err = fmt.Errorf("%s: %w", b.what, cause)
		}
		b.err = err
	}
	return n, err
}

func (b *guardedBody) Close() error {
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	b.stop()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}

type startAtEOF struct {
	io.ReadCloser
	start func()
}

func (s *startAtEOF) Read(p []byte) (int, error) {
	n, err := s.ReadCloser.Read(p)
	if err != nil {
		s.start()
	}
	return n, err
}

func (s *startAtEOF) Close() error {
	s.start()
	return s.ReadCloser.Close()
}
