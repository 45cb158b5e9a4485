package registry

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/retry"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// retriable reports whether a failed blob upload may succeed in another
// pass: a transient failure, or a stream already read.
func retriable(err error) bool {
	return errors.Is(err, errStreamUsed) || Transient(err)
}

// Transient reports whether a registry request that failed with err may
// succeed when made again: an answer by its status, else a network
// failure (retry.Status, retry.Transient).
func Transient(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return retry.Status(te.StatusCode)
	}
	return retry.Transient(err)
}

// ErrAccessDenied is wrapped by errors about a registry that refused the
// credentials (or their absence).
var ErrAccessDenied = errors.New("access denied")

// explain adds what to do to errors whose cause is known.
func explain(err error, registry string) error {
	if isAuthError(err) {
		return fmt.Errorf("%w: the registry %s refused access (%v); give credentials for it in the Docker config (docker login %s)", ErrAccessDenied, registry, err, registry)
	}
	return err
}

func isAuthError(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden)
}

// IsNetwork reports whether err is a failure to reach a registry
// (connection refused, a name that does not resolve, a timeout, TLS, a
// registry that stopped answering), not an answer from it (an unknown tag
// or repository, denied access, a manifest over the size limit, a redirect
// or plain HTTP the policy refuses): the environment's fault, not the
// definition's.
func IsNetwork(err error) bool {
	if errors.Is(err, ErrNoAnswer) {
		return true
	}
	if errors.Is(err, layout.ErrTooLarge) || errors.Is(err, ErrRedirect) || errors.Is(err, ErrPlainHTTP) || errors.Is(err, layout.ErrDigestMismatch) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return false
	}
	var ue *url.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &de)
}
