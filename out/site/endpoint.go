package site

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Endpoint is where a site API is and how to log in to it.
type Endpoint struct {
	// Service is "BDE", "Marathon" or "Chronos" (for messages).
	Service string
	URL     string
	// Username and Password, where the API has a login; the password is
	// never printed (String and Redacted leave it out).
	Username string
	Password string
	// Insecure skips the TLS certificate check (self-signed sites).
	Insecure bool
	// Timeout bounds each request (0: DefaultTimeout).
	Timeout time.Duration
}

// DefaultTimeout bounds one request to a site API: a server that accepts
// the connection and never answers is an UnavailableError after it.
const DefaultTimeout = 30 * time.Second

// FromEnv reads PREFIX_URL, PREFIX_USERNAME, PREFIX_PASSWORD and
// PREFIX_INSECURE (1, true, yes) with getenv, as govc reads GOVC_*. A
// malformed PREFIX_INSECURE is an error.
func FromEnv(getenv func(string) string, service, prefix string) (Endpoint, error) {
	e := Endpoint{Service: service, URL: getenv(prefix + "_URL"), Username: getenv(prefix + "_USERNAME"), Password: getenv(prefix + "_PASSWORD")}
	ins, err := ParseBool(getenv(prefix + "_INSECURE"))
	if err != nil {
		return e, fmt.Errorf("%s_INSECURE: %w", prefix, err)
	}
	e.Insecure = ins
	return e, nil
}

// ParseBool reads an environment switch: "", 0, false, no are false; 1,
// true, yes are true (any case).
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
		return b, nil
	}
	return false, errors.New("want 1, true, yes, 0, false or no")
}

// String names the endpoint without its password.
func (e Endpoint) String() string {
	s := e.Service + " " + e.URL
	if e.Username != "" {
		s += " as " + e.Username
	}
	return s
}

// HTTPClient returns a client whose every request is bounded by the
// endpoint's Timeout, with the TLS check off when Insecure, and redirects
// not followed (a login page is an error to report, not a page to parse).
func (e Endpoint) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if e.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with *_INSECURE
	}
	t := e.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	tr.ResponseHeaderTimeout = t
	return &http.Client{Transport: tr, Timeout: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// UnavailableError is a site API that is down, too slow or answers
// something that is not its API (garbage, an HTML page): the CLI exits 3.
type UnavailableError struct {
	Service string
	URL     string
	Err     error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s at %s is unavailable: %v", e.Service, e.URL, e.Err)
}
func (e *UnavailableError) Unwrap() error { return e.Err }

// AuthError is a login a site API refused: the CLI exits 1. It never
// carries the password.
type AuthError struct {
	Service, URL, User string
	// Err is the API client's own error, if any.
	Err error
}

func (e *AuthError) Unwrap() error { return e.Err }

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s at %s refused the login of user %q: check the user name and password", e.Service, e.URL, e.User)
}

// ShownURL is raw as an error may quote it: with any "user:password@"
// before the host dropped, so that a URL that does not parse is named
// without the credentials it may carry.
func ShownURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw
	}
	host, path, _ := strings.Cut(rest, "/")
	i := strings.LastIndex(host, "@")
	if i < 0 {
		return raw
	}
	s := host[i+1:]
	if strings.Contains(rest, "/") {
		s += "/" + path
	}
	if ok {
		s = scheme + "://" + s
	}
	return s
}
