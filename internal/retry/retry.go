package retry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Policy says how often and how patiently a failed operation is tried
// again.
type Policy struct {
	// Retries is how many times a transient failure is tried again (0 =
	// never).
	Retries int
	// Backoff is the wait before the first retry, doubled after each.
	Backoff time.Duration
}

// Do runs f until it succeeds, fails with an error retriable refuses, has
// been retried p.Retries times, or ctx is done. Before each retry it logs
// the debug record msg with attrs and the attempt, the wait and the
// reason (the error), then waits. It returns how many retries it made and
// f's last error (ctx's error when ctx ended a wait).
func Do(ctx context.Context, p Policy, retriable func(error) bool, msg string, f func() error, attrs ...any) (retried int, err error) {
	wait := p.Backoff
	for attempt := 0; ; attempt++ {
		err = f()
		if err == nil || attempt >= p.Retries || !retriable(err) || ctx.Err() != nil {
			return retried, err
		}
		retried++
		slog.Debug(msg, append(attrs, "attempt", retried, "wait", wait, "reason", err.Error())...)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return retried, ctx.Err()
		}
		wait *= 2
	}
}

// Transient reports whether err is a network failure that may go away
// when the same request is made again: a connection dropped, reset or
// refused, a broken pipe, a body cut short (io.EOF, io.ErrUnexpectedEOF),
// or a network timeout. A cancelled or expired context is never
// transient. Answers are judged by Status.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Status reports whether an HTTP answer with this status may be followed
// by a better one to the same request: 408 Request Timeout, 429 Too Many
// Requests, 500 Internal Server Error, 502 Bad Gateway, 503 Service
// Unavailable and 504 Gateway Timeout. Other answers (4xx, 501, 505, ...)
// say the same thing again.
func Status(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
