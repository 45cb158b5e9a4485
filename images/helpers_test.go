package images

import (
	"time"

	"github.com/bdebundle/bundle/images/registry"
)

// quick are the deadlines of the tests of hostile sources.
func quick() Options {
	return Options{Options: registry.Options{AnswerTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, RequestTimeout: time.Second,
		ConnectTimeout: 300 * time.Millisecond, Retries: -1, Backoff: 10 * time.Millisecond}}
}
