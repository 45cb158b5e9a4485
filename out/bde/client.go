package bde

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/plainhttp"
	"github.com/bdebundle/bundle/out/site"
)

// Config says how to reach a BDE management server.
type Config struct {
	// URL is the server: "host", "host:port" (https, port 8443) or a URL
	// whose path ends in /serengeti. Plain http is allowed only for a
	// loopback host.
	URL string
	// Username and Password log in; the password is never printed.
	Username string
	Password string
	// Insecure skips the TLS certificate check (BDE's is self-signed
	// unless replaced).
	Insecure bool
	// PollInterval is the time between two task polls; 0 is 3 s, the BDE
	// CLI's.
	PollInterval time.Duration
	// TaskTimeout bounds the wait for one task; 0 is DefaultTaskTimeout.
	TaskTimeout time.Duration
	// HTTPClient, when set, carries the requests (tests).
	HTTPClient *http.Client
}

// DefaultPollInterval is how often a task is polled: every 3 s, as the
// BDE CLI does (cli/.../rest/RestClient.java).
const DefaultPollInterval = 3 * time.Second

// DefaultTaskTimeout bounds the wait for one task (a cluster create of
// many nodes takes tens of minutes; a task that runs longer is reported,
// and a re-run picks the cluster up as BDE has it then).
const DefaultTaskTimeout = 3 * time.Hour

// Client talks to one BDE server. Login first; Logout at the end.
type Client struct {
	base     *url.URL // …/serengeti
	user     string
	password string
	http     *http.Client
	poll     time.Duration
	taskMax  time.Duration
	session  string // the JSESSIONID cookie's value
}

// ParseURL returns the /serengeti base URL of server (see Config.URL).
func ParseURL(server string) (*url.URL, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return nil, errors.New("no BDE server given")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the BDE server %q is not a host or URL", site.ShownURL(server))
	}
	if u.User != nil {
		return nil, fmt.Errorf("the BDE server URL must not carry credentials (use the user name and password settings)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !plainhttp.Loopback(u.Hostname()) {
			return nil, fmt.Errorf("the BDE server %s is plain http: only a loopback host may be (BDE serves https on 8443)", u.Host)
		}
	default:
		return nil, fmt.Errorf("the BDE server URL must be https, got %q", u.Scheme)
	}
	if u.Port() == "" && u.Scheme == "https" {
		u.Host = net.JoinHostPort(u.Hostname(), "8443")
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/serengeti") {
		p += "/serengeti"
	}
	u.Path, u.RawQuery, u.Fragment = p, "", ""
	return u, nil
}

// New returns a client of the server cfg names; it contacts nothing.
func New(cfg Config) (*Client, error) {
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Username == "" {
		return nil, errors.New("no BDE user name given")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.Insecure {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --bde-insecure
		}
		hc = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	}
	// Redirects are not followed: a login page or a moved API is an error
	// to report, not a page to parse.
	nc := *hc
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	taskMax := cfg.TaskTimeout
	if taskMax <= 0 {
		taskMax = DefaultTaskTimeout
	}
	return &Client{base: u, user: cfg.Username, password: cfg.Password, http: &nc, poll: poll, taskMax: taskMax}, nil
}

// Server is the /serengeti base URL the client talks to.
func (c *Client) Server() string { return c.base.String() }

// UnreachableError is a server that could not be reached (connection
// refused, DNS, TLS, timeout).
type UnreachableError struct {
	Server string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("BDE server %s cannot be reached: %v", e.Server, e.Err)
}
func (e *UnreachableError) Unwrap() error { return e.Err }

// AuthError is a login BDE refused (401): a wrong user name or password,
// or a session that expired.
type AuthError struct {
	Server, User string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("BDE server %s refused the login of user %q (401): check the user name and password", e.Server, e.User)
}

// APIError is an answer of BDE other than the one expected: its status and
// BddErrorMessage (code, message).
type APIError struct {
	Op      string
	Status  int
	Code    string
	Message string
	// Garbage is set when the answer was not BDE's (JSON that does not
	// parse, a page of some other server).
	Garbage bool
}

// ServerFault reports whether the answer is a fault of the server rather
// than a refusal: not BDE's answer, or a 5xx without an error id of BDE's
// own (none, or BDD.INTERNAL_ERROR, which 2.3.1 also answers for a body it
// cannot bind). serengeti-ws answers 500 for every error id that
// serengeti-errcode.properties gives no status (CLUSTER.UPDATE_NOT_ALLOWED,
// CLUSTER.NO_NEED_TO_RESIZE, …: rest/advice/DefaultExceptionHandler.java
// @2.3.1, RestResource.handleException @2.2.0); those are refusals.
func (e *APIError) ServerFault() bool {
	return e.Garbage || e.Status >= 500 && (e.Code == "" || e.Code == "BDD.INTERNAL_ERROR")
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("BDE %s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// TaskError is a task that ended other than COMPLETED.
type TaskError struct {
	Op   string
	Task Task
}

func (e *TaskError) Error() string {
	msg := e.Task.ErrorMessage
	if msg == "" {
		msg = "no error message"
	}
	return fmt.Sprintf("BDE %s: task %d ended %s: %s", e.Op, e.Task.ID, e.Task.Status, msg)
}

// TaskTimeoutError is a task still running after Config.TaskTimeout.
type TaskTimeoutError struct {
	Op    string
	Task  Task
	After time.Duration
}

func (e *TaskTimeoutError) Error() string {
	return fmt.Sprintf("BDE %s: task %d still %s (%d%%) after %s", e.Op, e.Task.ID, e.Task.Status, int(e.Task.Progress*100), e.After)
}

// Task is BDE's TaskRead, as GET /task/{id} answers it.
type Task struct {
	ID              int64   `json:"id"`
	Status          string  `json:"status"`
	Type            string  `json:"type,omitempty"`
	Progress        float64 `json:"progress"`
	ProgressMessage string  `json:"progressMessage,omitempty"`
	ErrorMessage    string  `json:"errorMessage,omitempty"`
	Target          string  `json:"target,omitempty"`
}

// Task statuses (TaskRead.Status).
const (
	TaskStarting  = "STARTING"
	TaskStarted   = "STARTED"
	TaskCompleted = "COMPLETED"
	TaskFailed    = "FAILED"
	TaskAbandoned = "ABANDONED"
	TaskStopped   = "STOPPED"
)

// Done reports whether the task has ended.
func (t Task) Done() bool {
	switch t.Status {
	case TaskCompleted, TaskFailed, TaskAbandoned, TaskStopped:
		return true
	}
	return false
}

// do sends a request; the session cookie is added once logged in.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	u := *c.base
	path, u.RawQuery, _ = strings.Cut(path, "?")
	u.Path = c.base.Path + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if c.session != "" {
		req.AddCookie(&http.Cookie{Name: "JSESSIONID", Value: c.session})
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{Server: c.base.Host, Err: stripURL(err)}
	}
	return resp, nil
}

// stripURL drops the *url.Error wrapper (whose text repeats the URL).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Login posts the form login and keeps the JSESSIONID cookie.
func (c *Client) Login(ctx context.Context) error {
	form := url.Values{"j_username": {c.user}, "j_password": {c.password}}
	resp, err := c.do(ctx, http.MethodPost, "/j_spring_security_check", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := c.status("login", resp, http.StatusOK); err != nil {
		return err
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "JSESSIONID" && ck.Value != "" {
			c.session = ck.Value
		}
	}
	if c.session == "" {
		return &APIError{Op: "login", Status: resp.StatusCode, Message: "the answer set no JSESSIONID cookie"}
	}
	slog.Debug("logged in to BDE", "server", c.base.Host, "user", c.user)
	return nil
}

// Logout ends the session; it is a no-op when not logged in.
func (c *Client) Logout(ctx context.Context) error {
	if c.session == "" {
		return nil
	}
	resp, err := c.do(ctx, http.MethodPost, "/j_spring_security_logout", nil, "")
	c.session = ""
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode >= 400 {
		return &APIError{Op: "logout", Status: resp.StatusCode}
	}
	return nil
}

// ConfigCluster runs `cluster config` on cluster name with spec (a
// ClusterCreate as JSON, camelCase as BDE's Jackson reads it) and waits
// for its task; progress, when set, sees every poll. A task that ends
// other than COMPLETED is a *TaskError carrying BDE's errorMessage.
func (c *Client) ConfigCluster(ctx context.Context, name string, spec []byte, progress func(Task)) (Task, error) {
	return c.taskCall(ctx, "cluster config "+name, http.MethodPut, "/api/cluster/"+url.PathEscape(name)+"/config", spec, progress)
}

// taskID is the last path segment of a task Location
// (…/serengeti/api/task/{id}), as the BDE CLI reads it.
func taskID(loc string) (int64, error) {
	if loc == "" {
		return 0, errors.New("the answer has no Location of a task")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return 0, fmt.Errorf("the task Location %q does not parse", loc)
	}
	segs := strings.Split(strings.TrimRight(u.Path, "/"), "/")
	if len(segs) < 2 || segs[len(segs)-2] != "task" {
		return 0, fmt.Errorf("the Location %q is not a task", loc)
	}
	id, err := strconv.ParseInt(segs[len(segs)-1], 10, 64)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("the Location %q has no task id", loc)
	}
	return id, nil
}

// Wait polls task id until it ends.
func (c *Client) Wait(ctx context.Context, op string, id int64, progress func(Task)) (Task, error) {
	deadline := time.Now().Add(c.taskMax)
	for {
		t, err := c.GetTask(ctx, id)
		if err != nil {
			return t, err
		}
		if progress != nil {
			progress(t)
		}
		if t.Done() {
			if t.Status != TaskCompleted {
				return t, &TaskError{Op: op, Task: t}
			}
			return t, nil
		}
		if time.Now().After(deadline) {
			return t, &TaskTimeoutError{Op: op, Task: t, After: c.taskMax}
		}
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-time.After(c.poll):
		}
	}
}

// GetTask reads task id.
func (c *Client) GetTask(ctx context.Context, id int64) (Task, error) {
	op := fmt.Sprintf("task %d", id)
	resp, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/task/%d", id), nil, "")
	if err != nil {
		return Task{}, err
	}
	defer drain(resp)
	if err := c.status(op, resp, http.StatusOK); err != nil {
		return Task{}, err
	}
	var t Task
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t); err != nil {
		return Task{}, &APIError{Op: op, Status: resp.StatusCode, Message: "the task does not parse: " + err.Error(), Garbage: true}
	}
	if t.ID == 0 {
		t.ID = id
	}
	return t, nil
}

// status checks that resp answers op with want: 401 is an *AuthError,
// any other status an *APIError carrying BDE's BddErrorMessage.
func (c *Client) status(op string, resp *http.Response, want int) error {
	switch resp.StatusCode {
	case want:
		return nil
	case http.StatusUnauthorized:
		return &AuthError{Server: c.base.Host, User: c.user}
	default:
		return apiError(op, resp)
	}
}

// apiError reads a BddErrorMessage ({code, message}) from resp.
func apiError(op string, resp *http.Response) error {
	e := &APIError{Op: op, Status: resp.StatusCode}
	var m struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &m) == nil {
		e.Code, e.Message = m.Code, m.Message
	}
	return e
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}
