package standin

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Cluster is a cluster the stand-in knows: the distro it was created on,
// its status (RUNNING by default) and its spec.
type Cluster struct {
	Distro string
	Status string
	// Fail, when set, makes the next task of the cluster end FAILED with
	// this errorMessage (a Chef run that failed on a node).
	Fail string
	// Spec is the ClusterCreate (camelCase JSON) the cluster was created
	// or last configured with; nil is a cluster with no node groups.
	// GET /clusters and GET /cluster/{name}/spec answer from it.
	Spec map[string]any
}

// Call is one request the stand-in answered.
type Call struct {
	Method string
	Path   string
	// Query is the raw query (?state=resume).
	Query  string
	Status int
	// Body is the request body of every call but the login (whose form
	// holds the password).
	Body []byte
}

// Write reports whether the call asked for a change (POST, PUT or
// DELETE on the API, the login and logout aside).
func (c Call) Write() bool {
	return c.Method != http.MethodGet && strings.HasPrefix(c.Path, "/serengeti/api/")
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
	failNew  map[string]string
	// Polls is how many polls a task answers STARTED before it ends.
	Polls int
}

type task struct {
	id      int64
	cluster string
	polls   int
	fail    string
	status  string
	// done applies the task's effect once it completes; failed sets the
	// cluster's status when it fails.
	done   func(c *Cluster)
	failed string
}

// New starts a stand-in on loopback (plain http) with the given users
// (name → password) and clusters.
func New(users map[string]string, clusters map[string]*Cluster) *Server {
	if clusters == nil {
		clusters = map[string]*Cluster{}
	}
	s := &Server{users: users, clusters: clusters, sessions: map[string]bool{}, tasks: map[int64]*task{}, nextID: 100, Polls: 1, failNew: map[string]string{}}
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

// ClusterSpec returns a copy of a cluster's spec (nil when none).
func (s *Server) ClusterSpec(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clusters[name]; c != nil && c.Spec != nil {
		return clone(c.Spec)
	}
	return nil
}

// SetFail makes the next task of cluster name fail with msg; for a
// cluster that does not exist yet, its create.
func (s *Server) SetFail(name, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clusters[name]; c != nil {
		c.Fail = msg
		return
	}
	s.failNew[name] = msg
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
	c := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status}
	if r.URL.Path != "/serengeti/j_spring_security_check" && len(body) > 0 {
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

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
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
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "/hello" && r.Method == http.MethodGet:
		w.WriteHeader(http.StatusOK)
	case rest == "/clusters" && r.Method == http.MethodGet:
		s.list(w)
	case rest == "/clusters" && r.Method == http.MethodPost:
		s.create(w, r, body)
	case len(seg) == 3 && seg[0] == "cluster" && seg[2] == "spec" && r.Method == http.MethodGet:
		s.spec(w, seg[1])
	case len(seg) == 3 && seg[0] == "cluster" && seg[2] == "config" && r.Method == http.MethodPut:
		s.config(w, r, seg[1], body)
	case len(seg) == 3 && seg[0] == "cluster" && seg[2] == "action" && r.Method == http.MethodPut:
		s.action(w, r, seg[1])
	case len(seg) == 5 && seg[0] == "cluster" && seg[2] == "nodegroup" && seg[4] == "instancenum" && r.Method == http.MethodPut:
		s.resize(w, r, seg[1], seg[3], body)
	case len(seg) == 2 && seg[0] == "task" && r.Method == http.MethodGet:
		s.task(w, seg[1])
	default:
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", "No such resource "+rest)
	}
}

// The properties Jackson binds on ClusterCreate and NodeGroupCreate
// (serengeti-ws 2.1–2.3 apitypes; a setter per property). BDE's
// ObjectMapper keeps FAIL_ON_UNKNOWN_PROPERTIES on, so any other field is
// a 400.
var (
	clusterCreateFields = fieldSet("name", "type", "externalHDFS", "externalMapReduce", "nodeGroups", "distro", "distroVendor", "distroVersion",
		"httpProxy", "noProxy", "rpNames", "vcClusters", "templateId", "deployPolicy", "dsNames", "networkName", "networkConfig",
		"networkNames", "networkings", "packageRepos", "distroMap", "topologyPolicy", "hostToRackMap", "sharedDatastorePattern",
		"localDatastorePattern", "configuration", "validateConfig", "specFile", "appManager", "localRepoURL", "password",
		"infrastructureConfig", "hostnamePrefix", "clusterCloneType")
	nodeGroupCreateFields = fieldSet("name", "roles", "instanceNum", "instanceType", "cpuNum", "memCapacityMB", "swapRatio", "storage",
		"haFlag", "configuration", "placementPolicies", "vcClusters", "rpNames", "groupType", "latencySensitivity",
		"reservedMemPriority", "reservedCpuRatio", "ioShares", "networkNames", "referredGroup")
)

func fieldSet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// readSpec parses a ClusterCreate body and refuses what Jackson refuses.
func readSpec(w http.ResponseWriter, r *http.Request, body []byte) (map[string]any, bool) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return nil, false
	}
	var spec map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&spec); err != nil || spec == nil {
		msg := "not a JSON object"
		if err != nil {
			msg = err.Error()
		}
		bddError(w, http.StatusBadRequest, "BDD.BAD_REST_CALL", "Failed to read the request body: "+msg)
		return nil, false
	}
	if bad := unknown(spec, clusterCreateFields); bad != "" {
		bddError(w, http.StatusBadRequest, "BDD.BAD_REST_CALL", fmt.Sprintf("Unrecognized field %q (Class com.vmware.bdd.apitypes.ClusterCreate), not marked as ignorable", bad))
		return nil, false
	}
	groups, _ := spec["nodeGroups"].([]any)
	for _, g := range groups {
		gm, ok := g.(map[string]any)
		if !ok {
			bddError(w, http.StatusBadRequest, "BDD.BAD_REST_CALL", "Failed to read the request body: a node group is not an object")
			return nil, false
		}
		if bad := unknown(gm, nodeGroupCreateFields); bad != "" {
			bddError(w, http.StatusBadRequest, "BDD.BAD_REST_CALL", fmt.Sprintf("Unrecognized field %q (Class com.vmware.bdd.apitypes.NodeGroupCreate), not marked as ignorable", bad))
			return nil, false
		}
	}
	return spec, true
}

func unknown(m map[string]any, known map[string]bool) string {
	var bad []string
	for k := range m {
		if !known[k] {
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		return bad[0]
	}
	return ""
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func (s *Server) list(w http.ResponseWriter) {
	names := make([]string, 0, len(s.clusters))
	for n := range s.clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []map[string]any{}
	for _, n := range names {
		c := s.clusters[n]
		groups := []map[string]any{}
		total := 0
		if c.Spec != nil {
			gs, _ := c.Spec["nodeGroups"].([]any)
			for _, g := range gs {
				gm := g.(map[string]any)
				num := instances(gm)
				total += num
				groups = append(groups, map[string]any{"name": gm["name"], "roles": gm["roles"], "instanceNum": num})
			}
		}
		row := map[string]any{"name": n, "distro": c.Distro, "status": c.Status, "instanceNum": total, "nodeGroups": groups}
		if c.Spec != nil {
			row["distroVendor"], row["distroVersion"] = str(c.Spec, "distroVendor"), str(c.Spec, "distroVersion")
		}
		out = append(out, row)
	}
	writeJSON(w, out)
}

func instances(g map[string]any) int {
	switch v := g["instanceNum"].(type) {
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	case float64:
		return int(v)
	case int:
		return v
	}
	return 0
}

func (s *Server) spec(w http.ResponseWriter, name string) {
	c := s.clusters[name]
	if c == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Cluster %s.", name))
		return
	}
	spec := map[string]any{"name": name, "distro": c.Distro, "nodeGroups": []any{}, "configuration": map[string]any{}}
	if c.Spec != nil {
		spec = c.Spec
	}
	writeJSON(w, spec)
}

// start registers a task of cluster name and answers 202 with its
// Location.
func (s *Server) start(w http.ResponseWriter, r *http.Request, name string, fail string, done func(*Cluster), failed string) {
	s.nextID++
	t := &task{id: s.nextID, cluster: name, fail: fail, status: "STARTING", done: done, failed: failed}
	s.tasks[t.id] = t
	w.Header().Set("Location", "http://"+r.Host+"/serengeti/api/task/"+strconv.FormatInt(t.id, 10))
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, body []byte) {
	spec, ok := readSpec(w, r, body)
	if !ok {
		return
	}
	name := str(spec, "name")
	if name == "" {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", "Invalid value name=null.")
		return
	}
	if s.clusters[name] != nil {
		bddError(w, http.StatusBadRequest, "BDD.ALREADY_EXISTS", fmt.Sprintf("Cluster %s already exists.", name))
		return
	}
	if str(spec, "distro") == "" {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", "Invalid value distro=null.")
		return
	}
	if groups, _ := spec["nodeGroups"].([]any); len(groups) == 0 {
		bddError(w, http.StatusBadRequest, "CLUSTER_CONFIG.NO_NODEGROUP", "No node group is defined.")
		return
	}
	c := &Cluster{Distro: str(spec, "distro"), Status: "PROVISIONING", Spec: spec}
	s.clusters[name] = c
	fail := s.failNew[name]
	delete(s.failNew, name)
	s.start(w, r, name, fail, nil, "PROVISION_ERROR")
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
	spec, ok := readSpec(w, r, body)
	if !ok {
		return
	}
	if d := str(spec, "distro"); d != "" && d != c.Distro {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value distro=%s: cluster %s was created on distro %s.", d, name, c.Distro))
		return
	}
	if !updatable(w, name, c) {
		return
	}
	fail := c.Fail
	c.Fail = ""
	c.Status = "CONFIGURING"
	s.start(w, r, name, fail, func(c *Cluster) { c.Spec = configured(c.Spec, spec) }, "CONFIGURE_ERROR")
}

// configured is the spec after a config with spec: the cluster's and the
// groups' configuration and the distro version from spec, the node
// groups' sizes as they were.
func configured(old, spec map[string]any) map[string]any {
	if old == nil {
		return clone(spec)
	}
	out := clone(old)
	out["configuration"] = spec["configuration"]
	if v := str(spec, "distroVersion"); v != "" {
		out["distroVersion"] = v
	}
	newGroups, _ := spec["nodeGroups"].([]any)
	groups, _ := out["nodeGroups"].([]any)
	for _, g := range groups {
		gm := g.(map[string]any)
		for _, ng := range newGroups {
			if ngm, ok := ng.(map[string]any); ok && ngm["name"] == gm["name"] {
				gm["configuration"] = ngm["configuration"]
			}
		}
	}
	return out
}

func updatable(w http.ResponseWriter, name string, c *Cluster) bool {
	switch c.Status {
	case "RUNNING", "CONFIGURE_ERROR", "SERVICE_STOPPED":
		return true
	}
	bddError(w, http.StatusBadRequest, "CLUSTER.UPDATE_NOT_ALLOWED", fmt.Sprintf("Cannot update cluster %s: To update a cluster, its status must be RUNNING, CONFIGURE_ERROR or SERVICE_ERROR (it is %s).", name, c.Status))
	return false
}

func (s *Server) resize(w http.ResponseWriter, r *http.Request, name, group string, body []byte) {
	c := s.clusters[name]
	if c == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Cluster %s.", name))
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(body)))
	if err != nil {
		bddError(w, http.StatusBadRequest, "BDD.BAD_REST_CALL", "Failed to read the request body: not an integer")
		return
	}
	if n <= 0 {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value instanceNum=%d.", n))
		return
	}
	var gm map[string]any
	if c.Spec != nil {
		groups, _ := c.Spec["nodeGroups"].([]any)
		for _, g := range groups {
			if m := g.(map[string]any); m["name"] == group {
				gm = m
			}
		}
	}
	if gm == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find NodeGroup %s in Cluster %s.", group, name))
		return
	}
	if c.Status != "RUNNING" {
		bddError(w, http.StatusBadRequest, "CLUSTER.UPDATE_NOT_ALLOWED", fmt.Sprintf("Cannot resize cluster %s: its status must be RUNNING (it is %s).", name, c.Status))
		return
	}
	fail := c.Fail
	c.Fail = ""
	c.Status = "UPDATING"
	s.start(w, r, name, fail, func(c *Cluster) {
		for _, g := range c.Spec["nodeGroups"].([]any) {
			if m := g.(map[string]any); m["name"] == group {
				m["instanceNum"] = json.Number(strconv.Itoa(n))
			}
		}
	}, "RUNNING")
}

// action is PUT /cluster/{name}/action?state=start|stop|resume; resume
// finishes a create that failed (PROVISION_ERROR).
func (s *Server) action(w http.ResponseWriter, r *http.Request, name string) {
	c := s.clusters[name]
	if c == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Cluster %s.", name))
		return
	}
	switch st := r.URL.Query().Get("state"); st {
	case "resume":
		if c.Status != "PROVISION_ERROR" {
			bddError(w, http.StatusBadRequest, "CLUSTER.OPERATION_NOT_ALLOWED", fmt.Sprintf("Cannot resume cluster %s: its status must be PROVISION_ERROR (it is %s).", name, c.Status))
			return
		}
		fail := c.Fail
		c.Fail = ""
		c.Status = "PROVISIONING"
		s.start(w, r, name, fail, nil, "PROVISION_ERROR")
	default:
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value state=%s.", st))
	}
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
	c := s.clusters[t.cluster]
	switch {
	case t.status == "COMPLETED" || t.status == "FAILED":
	case t.polls <= s.Polls:
		t.status = "STARTED"
	case t.fail != "":
		t.status = "FAILED"
		c.Status = t.failed
	default:
		t.status = "COMPLETED"
		if t.done != nil {
			t.done(c)
		}
		c.Status = "RUNNING"
	}
	if t.status == "COMPLETED" {
		progress = 1
	}
	out := map[string]any{"id": t.id, "status": t.status, "type": "INNER", "progress": progress, "target": t.cluster}
	if t.status == "FAILED" {
		out["errorMessage"] = t.fail
	}
	if t.status == "STARTED" {
		out["progressMessage"] = "Working on cluster " + t.cluster
	}
	writeJSON(w, out)
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	_ = dec.Decode(&out)
	return out
}
