package standin

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Cluster is a cluster the stand-in knows: the distro it was created on
// and its status (RUNNING by default).
type Cluster struct {
	Distro string
	Status string
	// Fail, when set, makes the next config task of the cluster end FAILED
	// with this errorMessage (a Chef run that failed on a node).
	Fail string
}

// Call is one request the stand-in answered.
type Call struct {
	Method string
	Path   string
	Status int
	// Body is the request body of a config call (the cluster spec).
	Body []byte
}

// Server is a running stand-in.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	users    map[string]string
	clusters map[string]*Cluster
	sessions map[string]bool
	tasks    map[int64]*task
	nextID   int64
	calls    []Call
	// Polls is how many polls a task answers STARTED before it ends.
	Polls int
}

type task struct {
	id      int64
	cluster string
	polls   int
	fail    string
	status  string
}

// New starts a stand-in on loopback (plain http) with the given users
// (name → password) and clusters.
func New(users map[string]string, clusters map[string]*Cluster) *Server {
	s := &Server{users: users, clusters: clusters, sessions: map[string]bool{}, tasks: map[int64]*task{}, nextID: 100, Polls: 1}
	for _, c := range clusters {
		if c.Status == "" {
			c.Status = "RUNNING"
		}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// BaseURL is the stand-in's /serengeti base URL.
func (s *Server) BaseURL() string { return s.Server.URL + "/serengeti" }

// Calls returns the requests answered so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ClusterStatus returns a cluster's status.
func (s *Server) ClusterStatus(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clusters[name]; c != nil {
		return c.Status
	}
	return ""
}

// SetFail makes the next config of cluster name fail with msg.
func (s *Server) SetFail(name, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clusters[name].Fail = msg
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.route(rec, r, body)
	c := Call{Method: r.Method, Path: r.URL.Path, Status: rec.status}
	if strings.HasSuffix(r.URL.Path, "/config") {
		c.Body = body
	}
	s.calls = append(s.calls, c)
}

// bddError writes a BddErrorMessage as BDE's DefaultExceptionHandler does.
func bddError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg})
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	p := r.URL.Path
	switch {
	case p == "/serengeti/j_spring_security_check" && r.Method == http.MethodPost:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		pw, ok := s.users[form.Get("j_username")]
		if !ok || pw != form.Get("j_password") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id := strings.ToUpper(hex.EncodeToString(b))
		s.sessions[id] = true
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/serengeti", HttpOnly: true})
		w.WriteHeader(http.StatusOK)
		return
	case p == "/serengeti/j_spring_security_logout":
		if ck, err := r.Cookie("JSESSIONID"); err == nil {
			delete(s.sessions, ck.Value)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if !strings.HasPrefix(p, "/serengeti/api/") {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if ck, err := r.Cookie("JSESSIONID"); err != nil || !s.sessions[ck.Value] {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rest := strings.TrimPrefix(p, "/serengeti/api")
	switch {
	case rest == "/hello" && r.Method == http.MethodGet:
		w.WriteHeader(http.StatusOK)
	case strings.HasPrefix(rest, "/cluster/") && strings.HasSuffix(rest, "/config") && r.Method == http.MethodPut:
		s.config(w, r, strings.TrimSuffix(strings.TrimPrefix(rest, "/cluster/"), "/config"), body)
	case strings.HasPrefix(rest, "/task/") && r.Method == http.MethodGet:
		s.task(w, strings.TrimPrefix(rest, "/task/"))
	default:
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", "No such resource "+rest)
	}
}

func (s *Server) config(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	c := s.clusters[name]
	if c == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Cluster %s.", name))
		return
	}
	var spec struct {
		Name   string `json:"name"`
		Distro string `json:"distro"`
	}
	if err := json.Unmarshal(body, &spec); err != nil {
		bddError(w, http.StatusBadRequest, "BDD.BAD_REST_CALL", "Failed to read the request body: "+err.Error())
		return
	}
	if spec.Distro != "" && spec.Distro != c.Distro {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value distro=%s: cluster %s was created on distro %s.", spec.Distro, name, c.Distro))
		return
	}
	switch c.Status {
	case "RUNNING", "CONFIGURE_ERROR", "SERVICE_STOPPED":
	default:
		bddError(w, http.StatusBadRequest, "CLUSTER.UPDATE_NOT_ALLOWED", fmt.Sprintf("Cannot update cluster %s: To update a cluster, its status must be RUNNING, CONFIGURE_ERROR or SERVICE_ERROR (it is %s).", name, c.Status))
		return
	}
	s.nextID++
	t := &task{id: s.nextID, cluster: name, fail: c.Fail, status: "STARTING"}
	c.Fail = ""
	c.Status = "CONFIGURING"
	s.tasks[t.id] = t
	w.Header().Set("Location", "http://"+r.Host+"/serengeti/api/task/"+strconv.FormatInt(t.id, 10))
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) task(w http.ResponseWriter, idText string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	t := s.tasks[id]
	if err != nil || t == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", "Cannot find task "+idText+".")
		return
	}
	t.polls++
	progress := 0.5
	switch {
	case t.status == "COMPLETED" || t.status == "FAILED":
	case t.polls <= s.Polls:
		t.status = "STARTED"
	case t.fail != "":
		t.status = "FAILED"
		s.clusters[t.cluster].Status = "CONFIGURE_ERROR"
	default:
		t.status = "COMPLETED"
		s.clusters[t.cluster].Status = "RUNNING"
	}
	if t.status == "COMPLETED" {
		progress = 1
	}
	out := map[string]any{"id": t.id, "status": t.status, "type": "INNER", "progress": progress, "target": t.cluster}
	if t.status == "FAILED" {
		out["errorMessage"] = t.fail
	}
	if t.status == "STARTED" {
		out["progressMessage"] = "Configuring cluster " + t.cluster
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
