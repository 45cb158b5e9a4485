package siteapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/plainhttp"
	"github.com/bdebundle/bundle/out/site"
)

// MaxAnswer is the largest answer read from a site API (8 MiB); a longer
// one is an error, not a hang or an allocation without bound.
const MaxAnswer = 8 << 20

// RequestTimeout bounds one request, answer included.
const RequestTimeout = 30 * time.Second

// Client calls one site API (Marathon or Chronos) over HTTP.
type Client struct {
	// API names the service in errors ("Marathon", "Chronos").
	API  string
	base *url.URL
	http *http.Client
	user string
	pass string
}

// SetBasicAuth makes every request carry HTTP basic credentials (Marathon
// and Chronos started with --http_credentials); a 401 is then a
// *site.AuthError, which never holds the password.
func (c *Client) SetBasicAuth(user, password string) { c.user, c.pass = user, password }

// APIError is a call the API answered with a refusal (4xx, 5xx).
type APIError struct {
	API, Method, Path string
	Status            int
	Message           string
	Body              []byte
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s refused %s %s (%d): %s", e.API, e.Method, e.Path, e.Status, msg)
}

// ParseURL checks a site API's URL: http or https, no credentials in it,
// plain http only when insecure is set or the host is loopback (Marathon
// and Chronos of 2015 serve plain http unless put behind a proxy, so a
// site names that with *_INSECURE). A bare host gets defaultPort.
func ParseURL(api, raw string, insecure bool, defaultPort string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, fmt.Errorf("no %s URL given", api)
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the %s URL %q is not a host or URL", api, site.ShownURL(raw))
	}
	if u.User != nil {
		return nil, fmt.Errorf("the %s URL must not carry credentials", api)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !insecure && !plainhttp.Loopback(u.Hostname()) {
			return nil, fmt.Errorf("the %s URL %s is plain http: only a loopback host may be, unless the insecure setting says so", api, u.Host)
		}
	default:
		return nil, fmt.Errorf("the %s URL must be http or https, got %q", api, u.Scheme)
	}
	if u.Port() == "" && defaultPort != "" && !strings.Contains(raw, "://") {
		u.Host = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// New returns a client of the API at base; hc, when set, carries the
// requests (tests); timeout bounds each request (0: RequestTimeout). It
// contacts nothing. An API that cannot be reached, that is too slow or
// that answers something other than its wire format gives a
// *site.UnavailableError; a refusal an *APIError.
func New(api string, base *url.URL, insecure bool, timeout time.Duration, hc *http.Client) *Client {
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if insecure {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with *_INSECURE
		}
		hc = &http.Client{Transport: tr}
	}
	nc := *hc
	if nc.CheckRedirect == nil {
		// A non-leader Chronos or Marathon redirects to the leader: follow
		// it, a few times, and only when the method survives (Go turns a
		// POST answered 301 or 302 into a GET, which would write nothing).
		nc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return fmt.Errorf("%s redirected %d times", api, len(via))
			}
			if req.Method != via[0].Method {
				return fmt.Errorf("%s redirected %s %s to %s as %s: point the URL at the leader", api, via[0].Method, via[0].URL.Path, req.URL.Redacted(), req.Method)
			}
			return nil
		}
	}
	if timeout <= 0 {
		timeout = RequestTimeout
	}
	if nc.Timeout == 0 || nc.Timeout > timeout {
		nc.Timeout = timeout
	}
	return &Client{API: api, base: base, http: &nc}
}

// Server is the API's base URL.
func (c *Client) Server() string { return c.base.String() }

// Do sends one request with an optional JSON body and returns the status
// and the answer's body (at most MaxAnswer bytes).
func (c *Client) Do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	u := c.base.String() + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s request %s %s: %w", c.API, method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.user != "" || c.pass != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, &site.UnavailableError{Service: c.API, URL: c.Server(), Err: stripURL(err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, &site.UnavailableError{Service: c.API, URL: c.Server(), Err: fmt.Errorf("reading the answer to %s %s: %w", method, path, stripURL(err))}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return 0, nil, &site.AuthError{Service: c.API, URL: c.Server(), User: c.user}
	}
	if len(b) > MaxAnswer {
		return 0, nil, &site.UnavailableError{Service: c.API, URL: c.Server(), Err: fmt.Errorf("the answer to %s %s is larger than %d MiB", method, path, MaxAnswer>>20)}
	}
	return resp.StatusCode, b, nil
}

// Refused returns the APIError of an answer with status st, taking the
// message from a JSON body's "message" field when there is one.
func (c *Client) Refused(method, path string, st int, body []byte) *APIError {
	e := &APIError{API: c.API, Method: method, Path: path, Status: st, Body: body}
	var m struct {
		Message string `json:"message"`
		Errors  []struct {
			Attribute string `json:"attribute"`
			Error     string `json:"error"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		e.Message = m.Message
		for _, x := range m.Errors {
			if x.Attribute != "" {
				e.Message += "; " + x.Attribute + ": " + x.Error
			} else {
				e.Message += "; " + x.Error
			}
		}
	} else if s := strings.TrimSpace(string(body)); s != "" && len(s) < 300 && !strings.ContainsAny(s, "<\x1b") {
		e.Message = s
	}
	return e
}

// Garbage is the error of an answer that is not the API's wire format.
func (c *Client) Garbage(method, path string, err error) error {
	return &site.UnavailableError{Service: c.API, URL: c.Server(), Err: fmt.Errorf("the answer to %s %s is not %s's JSON: %w", method, path, c.API, err)}
}

func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
