package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

type timeoutErr struct{ timeout bool }

func (e timeoutErr) Error() string   { return "i/o" }
func (e timeoutErr) Timeout() bool   { return e.timeout }
func (e timeoutErr) Temporary() bool { return false }

func TestTransient(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"broken pipe", fmt.Errorf("writing: %w", syscall.EPIPE), true},
		{"cut short", fmt.Errorf("copying: %w", io.ErrUnexpectedEOF), true},
		{"eof", io.EOF, true},
		{"timeout", timeoutErr{true}, true},
		{"net error, no timeout", timeoutErr{false}, false},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), false},
		{"deadline", context.DeadlineExceeded, false},
		{"canceled while reading", errors.Join(context.Canceled, io.ErrUnexpectedEOF), false},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false},
		{"plain", errors.New("manifest unknown"), false},
	} {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("%s: Transient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestStatus(t *testing.T) {
	want := map[int]bool{408: true, 429: true, 500: true, 502: true, 503: true, 504: true}
	for code := 100; code < 600; code++ {
		if got := Status(code); got != want[code] {
			t.Errorf("Status(%d) = %v, want %v", code, got, want[code])
		}
	}
}

var errFlaky = errors.New("flaky")

func TestDo(t *testing.T) {
	isFlaky := func(err error) bool { return errors.Is(err, errFlaky) }
	for _, tt := range []struct {
		name        string
		retries     int
		fails       int   // failures before success
		failWith    error // the error of each failure
		wantCalls   int
		wantRetried int
		wantErr     error
	}{
		{"ok at once", 3, 0, errFlaky, 1, 0, nil},
		{"ok after two", 3, 2, errFlaky, 3, 2, nil},
		{"gives up", 2, 5, errFlaky, 3, 2, errFlaky},
		{"never retries", 0, 5, errFlaky, 1, 0, errFlaky},
		{"permanent", 3, 5, io.ErrClosedPipe, 1, 0, io.ErrClosedPipe},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			retried, err := Do(context.Background(), Policy{Retries: tt.retries, Backoff: time.Microsecond}, isFlaky, "test retry", func() error {
				calls++
				if calls <= tt.fails {
					return tt.failWith
				}
				return nil
			})
			if calls != tt.wantCalls || retried != tt.wantRetried || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("calls %d, retried %d, err %v; want %d, %d, %v", calls, retried, err, tt.wantCalls, tt.wantRetried, tt.wantErr)
			}
		})
	}
}

func TestDoBacksOffAndStopsWithContext(t *testing.T) {
	var at []time.Time
	_, err := Do(context.Background(), Policy{Retries: 2, Backoff: 20 * time.Millisecond}, func(error) bool { return true }, "test retry", func() error {
		at = append(at, time.Now())
		return errFlaky
	})
	if !errors.Is(err, errFlaky) || len(at) != 3 {
		t.Fatalf("err %v after %d calls, want errFlaky after 3", err, len(at))
	}
	if d1, d2 := at[1].Sub(at[0]), at[2].Sub(at[1]); d1 < 20*time.Millisecond || d2 < 40*time.Millisecond {
		t.Errorf("waits %v, %v: want at least 20ms, then 40ms (doubled)", d1, d2)
	}

	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = Do(ctx, Policy{Retries: 5, Backoff: time.Hour}, func(error) bool { return true }, "test retry", func() error { return errFlaky })
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled during a wait: %v after %v, want context.Canceled at once", err, time.Since(start))
	}
}
