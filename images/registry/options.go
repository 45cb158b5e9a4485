package registry

import (
	"context"
	"net/http"
	"time"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/internal/retry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Options say how registries are reached, pulling and pushing alike:
// credentials, plain HTTP, deadlines, parallel transfers and retries.
type Options struct {
	// Workers bounds parallel image and blob transfers (default 4).
	Workers int
	// Keychain supplies registry credentials (default authn.DefaultKeychain:
	// Docker config and credential helpers).
	Keychain authn.Keychain
	// Insecure lists registry hosts (host or host:port) that may be
	// spoken to over plain HTTP. Pulling and pushing alike, plain HTTP is
	// spoken only to them and to loopback hosts (see registryTransport).
	Insecure []string
	// Retries is how often a blob transfer that failed with a transient
	// error is tried again (default 3; negative = never).
	Retries int
	// Backoff is the wait before the first retry, doubled after each
	// (default 500ms).
	Backoff time.Duration
	// Transport is the HTTP transport for registries (default
	// remote.DefaultTransport with ConnectTimeout and an IdleTimeout on
	// every write). The HTTP policy of registryTransport wraps it.
	Transport http.RoundTripper
	// AnswerTimeout bounds how long a registry's answer may take once a
	// request has been sent in full (default 2 minutes), so a registry
	// that stops answering fails the command instead of hanging it.
	AnswerTimeout time.Duration
	// Timeout, when set, is the default of AnswerTimeout, ConnectTimeout
	// and IdleTimeout, and half that of RequestTimeout (the CLI's
	// --registry-timeout).
	Timeout time.Duration
	// ConnectTimeout bounds connecting, TLS included (default 30s; only
	// for the default Transport).
	ConnectTimeout time.Duration
	// IdleTimeout bounds the wait for each read of an answer's body and
	// each write of a request (default 1 minute).
	IdleTimeout time.Duration
	// RequestTimeout bounds a whole request from the answer to the end of
	// its body (default 5 minutes), plus the time the body's announced
	// length takes at MinRate bytes per second (default 32 KiB/s): a
	// registry that drips its answer fails too.
	RequestTimeout time.Duration
	MinRate        int64
}

// WithDefaults fills in every unset field with its default.
func (o Options) WithDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Retries == 0 {
		o.Retries = 3
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Timeout > 0 {
		for _, d := range []*time.Duration{&o.AnswerTimeout, &o.ConnectTimeout, &o.IdleTimeout} {
			if *d <= 0 {
				*d = o.Timeout
			}
		}
		if o.RequestTimeout <= 0 {
			o.RequestTimeout = 2 * o.Timeout
		}
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = defaultRequestTimeout
	}
	if o.MinRate <= 0 {
		o.MinRate = defaultMinRate
	}
	if o.Transport == nil {
		o.Transport = newBaseTransport(o)
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = defaultAnswerTimeout
	}
	return o
}

// Remote is the go-containerregistry options of o (WithDefaults applied):
// its credentials, the HTTP policy of this package over o.Transport, its
// workers and its retries.
func (o Options) Remote(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.Keychain),
		remote.WithTransport(newRegistryTransport(o)),
		remote.WithJobs(o.Workers),
		remote.WithRetryBackoff(remote.Backoff{Duration: o.Backoff, Factor: 2, Jitter: 0.1, Steps: o.Retries + 1}),
	}
}

// Policy is the retry policy of o (WithDefaults applied).
func (o Options) Policy() retry.Policy {
	return retry.Policy{Retries: o.Retries, Backoff: o.Backoff}
}

// PushOptions tune Push and PushStream.
type PushOptions struct {
	Options
	// Progress receives one task per image (nil = progress.Discard).
	Progress progress.Reporter
	// IndexSHA256, when set, is the sha256 of the index.json that was
	// verified (its bundle.json entry): Push and PushStream refuse a
	// layout whose index.json, as they read it, hashes to anything else.
	// The rest of the layout is named by digests from there.
	IndexSHA256 string
}
