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
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/out/internal/callrec"
)

// Cluster is a cluster the stand-in knows: the distro it was created on,
// its status (RUNNING by default) and its spec.
type Cluster struct {
	Distro string
	// DistroVendor and DistroVersion are fixed at creation from the
	// distro BDE knows by that name (ClusterManager.createCluster sets them
	// from the HadoopStack, whatever the spec says); no call reports the
	// version and no config changes it.
	DistroVendor  string
	DistroVersion string
	Status        string
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
	rec      callrec.Recorder[Call]
	failNew  map[string]string
	distros  map[string]Distro
	// Version is BDE's own version, which ClusterRead's "version" carries
	// (the server version a cluster was created by); "2.3.1" by default.
	Version string
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

// Distro is a distro BDE knows (its manifest): its vendor and version.
type Distro struct{ Vendor, Version string }

// SetDistro makes distro name known to creates (BDE reads its distros
// from /opt/serengeti/www/distros/manifest).
func (s *Server) SetDistro(name, vendor, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.distros[strings.ToLower(name)] = Distro{Vendor: vendor, Version: version}
}

// ClusterDistroVersion returns the distro version a cluster has (as the
// cluster entity keeps it; BDE's API does not report it).
func (s *Server) ClusterDistroVersion(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clusters[name]; c != nil {
		return c.DistroVersion
	}
	return ""
}

// New starts a stand-in on loopback (plain http) with the given users
// (name → password) and clusters.
func New(users map[string]string, clusters map[string]*Cluster) *Server {
	if clusters == nil {
		clusters = map[string]*Cluster{}
	}
	s := &Server{users: users, clusters: clusters, sessions: map[string]bool{}, tasks: map[int64]*task{}, nextID: 100, Polls: 1, failNew: map[string]string{}, distros: map[string]Distro{}, Version: "2.3.1"}
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
func (s *Server) Calls() []Call { return s.rec.Calls() }

// Writes returns the calls that asked for a change (see Call.Write).
func (s *Server) Writes() []Call { return s.rec.Writes() }

// Reset forgets the calls recorded so far.
func (s *Server) Reset() { s.rec.Reset() }

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

// SetStatus sets a cluster's status (a task BDE runs on it meanwhile).
func (s *Server) SetStatus(name, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clusters[name]; c != nil {
		c.Status = status
	}
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
	s.rec.Add(c)
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
	case len(seg) == 2 && seg[0] == "cluster" && r.Method == http.MethodGet:
		s.cluster(w, seg[1])
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

// The properties Jackson 2.1 binds on ClusterCreate, NodeGroupCreate and
// StorageRead of serengeti-ws 2.3.1 (a public setter per property; the
// names are the bean names, not the Gson @SerializedName ones). The REST
// servlet (restapi-servlet.xml, <mvc:annotation-driven/> of Spring 3.2)
// uses a plain ObjectMapper, so FAIL_ON_UNKNOWN_PROPERTIES is on and no
// class is @JsonIgnoreProperties(ignoreUnknown): any other field is
// refused. A property whose getter is @JsonIgnore (ClusterCreate's
// networkNames, NodeGroupCreate's referredGroup and strictReferred,
// StorageRead's shares) is skipped without an error.
var (
	clusterCreateFields = fieldSet("name", "appManager", "type", "externalHDFS", "externalMapReduce", "externalNamenode",
		"externalSecondaryNamenode", "externalDatanodes", "distro", "distroVendor", "distroVersion", "packagesExistStatus",
		"httpProxy", "noProxy", "rpNames", "nodeGroups", "dsNames", "networkConfig", "networkings", "vcClusters",
		"templateName", "packageRepos", "distroMap", "topologyPolicy", "hostToRackMap", "sharedDatastorePattern",
		"localDatastorePattern", "validateConfig", "deployPolicy", "specFile", "configuration", "infrastructure_config",
		"password", "localRepoURL", "hostnamePrefix", "clusterCloneType")
	clusterCreateIgnored  = fieldSet("networkNames")
	nodeGroupCreateFields = fieldSet("name", "roles", "instanceNum", "instanceType", "placementPolicies", "cpuNum",
		"memCapacityMB", "swapRatio", "storage", "rpNames", "haFlag", "latencySensitivity", "reservedCpuRatio",
		"reservedMemRatio", "vcClusters", "vmFolderPath", "configuration")
	nodeGroupCreateIgnored = fieldSet("referredGroup", "strictReferred")
	storageFields          = fieldSet("dsNames", "dsNames4System", "dsNames4Data", "diskstoreNamePattern",
		"imagestoreNamePattern", "type", "sizeGB", "splitPolicy", "controllerType", "allocType", "diskNum", "shareDatastore")
	storageIgnored = fieldSet("shares")
)

// Name patterns of the create path (Constants.CLUSTER_NAME_PATTERN and
// NODE_GROUP_NAME_PATTERN, matched whole by CommonUtil.validateClusterName
// and validateNodeGroupName).
var (
	clusterName   = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
	nodeGroupName = regexp.MustCompile(`^[a-zA-Z0-9]{1,80}$`)
)

// The 2.2.0 apitypes differ: ClusterCreate has templateId where 2.3.1 has
// templateName, NodeGroupCreate lacks latencySensitivity,
// reservedCpuRatio and reservedMemRatio, StorageRead lacks diskNum and
// shareDatastore.
var (
	clusterCreateFields22   = with(clusterCreateFields, []string{"templateId"}, "templateName")
	nodeGroupCreateFields22 = with(nodeGroupCreateFields, nil, "latencySensitivity", "reservedCpuRatio", "reservedMemRatio")
	storageFields22         = with(storageFields, nil, "diskNum", "shareDatastore")
)

func with(m map[string]bool, add []string, drop ...string) map[string]bool {
	out := fieldSet(add...)
	for k := range m {
		out[k] = true
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

// fields are the property sets of the stand-in's version.
func (s *Server) fields() (cluster, group, storage map[string]bool) {
	if strings.HasPrefix(s.Version, "2.2") {
		return clusterCreateFields22, nodeGroupCreateFields22, storageFields22
	}
	return clusterCreateFields, nodeGroupCreateFields, storageFields
}

func fieldSet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// internalError is how serengeti-ws answers what it has no status for:
// DefaultExceptionHandler (2.3.1) and RestResource.handleException (2.2.0)
// answer a BddException whose error id serengeti-errcode.properties does
// not list with 500 and its BddErrorMessage; 2.3.1 answers any other
// exception (a NullPointerException) 500 BDD.INTERNAL_ERROR "Internal
// server error: UNKNOWN.".
func internalError(w http.ResponseWriter, code, msg string) {
	bddError(w, http.StatusInternalServerError, code, msg)
}

// unreadable answers a body Jackson cannot bind (not JSON, an unknown
// property): Spring raises HttpMessageNotReadableException before
// RestResource runs. 2.2.0's RestResource.handleException makes it 400
// BDD.BAD_REST_CALL with Jackson's message; 2.3.1's DefaultExceptionHandler
// makes it 500 BDD.INTERNAL_ERROR with no detail.
func (s *Server) unreadable(w http.ResponseWriter, msg string) {
	if strings.HasPrefix(s.Version, "2.2") {
		bddError(w, http.StatusBadRequest, "BDD.BAD_REST_CALL", "Could not read JSON: "+msg)
		return
	}
	internalError(w, "BDD.INTERNAL_ERROR", "Internal server error: UNKNOWN.")
}

// readSpec parses a ClusterCreate body and refuses what Jackson refuses
// (see unreadable).
func (s *Server) readSpec(w http.ResponseWriter, r *http.Request, body []byte) (map[string]any, bool) {
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
		s.unreadable(w, ""+msg)
		return nil, false
	}
	clusterFields, groupFields, storageFields := s.fields()
	bad := func(field, class string) {
		s.unreadable(w, fmt.Sprintf("Unrecognized field %q (class com.vmware.bdd.apitypes.%s), not marked as ignorable", field, class))
	}
	if f := unknown(spec, clusterFields, clusterCreateIgnored); f != "" {
		bad(f, "ClusterCreate")
		return nil, false
	}
	if spec["nodeGroups"] != nil {
		groups, ok := spec["nodeGroups"].([]any)
		if !ok {
			s.unreadable(w, "nodeGroups is not an array")
			return nil, false
		}
		for _, g := range groups {
			gm, ok := g.(map[string]any)
			if !ok {
				s.unreadable(w, "a node group is not an object")
				return nil, false
			}
			if f := unknown(gm, groupFields, nodeGroupCreateIgnored); f != "" {
				bad(f, "NodeGroupCreate")
				return nil, false
			}
			if st, ok := gm["storage"].(map[string]any); ok {
				if f := unknown(st, storageFields, storageIgnored); f != "" {
					bad(f, "StorageRead")
					return nil, false
				}
			}
			if v, ok := gm["instanceNum"]; ok {
				if _, isNum := v.(json.Number); !isNum {
					s.unreadable(w, "instanceNum is not an int")
					return nil, false
				}
			}
		}
	}
	return spec, true
}

func unknown(m map[string]any, known, ignored map[string]bool) string {
	var bad []string
	for k := range m {
		if !known[k] && !ignored[k] {
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
		out = append(out, s.read(n))
	}
	writeJSON(w, out)
}

// cluster is GET /cluster/{name}[?details=true]: one ClusterRead.
func (s *Server) cluster(w http.ResponseWriter, name string) {
	if s.clusters[name] == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Cluster %s.", name))
		return
	}
	writeJSON(w, s.read(name))
}

// read is a ClusterRead as Jackson writes it (ClusterEntityManager.
// toClusterRead): a property per getter, nulls written. It has no
// distroVersion; "version" is BDE's version.
func (s *Server) read(n string) map[string]any {
	c := s.clusters[n]
	groups := []map[string]any{}
	total := 0
	if c.Spec != nil {
		gs, _ := c.Spec["nodeGroups"].([]any)
		for _, g := range gs {
			gm := g.(map[string]any)
			num := instances(gm)
			total += num
			groups = append(groups, map[string]any{"name": gm["name"], "roles": gm["roles"], "instances": nil,
				"cpuNum": num0(gm["cpuNum"]), "memCapacityMB": num0(gm["memCapacityMB"]), "instanceNum": num,
				"swapRatio": gm["swapRatio"], "networking": nil, "storage": gm["storage"], "placementPolicies": gm["placementPolicies"],
				"computeOnly": false})
		}
	}
	var vendor any
	if c.DistroVendor != "" {
		vendor = c.DistroVendor
	}
	return map[string]any{"name": n, "version": s.Version, "externalHDFS": nil, "appManager": "Default",
		"externalMapReduce": nil, "distro": c.Distro, "distroVendor": vendor, "topologyPolicy": "NONE",
		"instanceNum": total, "status": c.Status, "ioShares": "NORMAL", "nodeGroups": groups, "resourcePools": nil,
		"automationEnable": nil, "vhmMinNum": 0, "vhmMaxNum": 0, "vhmTargetNum": nil, "dcSeperation": false,
		"localRepoURL": nil, "externalNamenode": nil, "externalSecondaryNamenode": nil, "externalDatanodes": nil,
		"infrastructure_config": nil, "clusterCloneType": "FAST", "templateName": "hadoop-template"}
}

func num0(v any) any {
	if v == nil {
		return 0
	}
	return v
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

// spec is GET /cluster/{name}/spec: ClusterManager.getClusterSpec nulls
// the name, distroVendor, distroVersion and the placement fields of the
// stored ClusterCreate before answering it.
func (s *Server) spec(w http.ResponseWriter, name string) {
	c := s.clusters[name]
	if c == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Cluster %s.", name))
		return
	}
	spec := map[string]any{"distro": c.Distro, "nodeGroups": []any{}, "configuration": nil}
	if c.Spec != nil {
		spec = clone(c.Spec)
	}
	for _, k := range []string{"name", "distroVendor", "distroVersion", "vcClusters", "distroMap", "sharedDatastorePattern",
		"localDatastorePattern", "networkings", "networkConfig", "validateConfig", "specFile", "topologyPolicy",
		"hostToRackMap", "httpProxy", "noProxy", "password", "hostnamePrefix"} {
		spec[k] = nil
	}
	groups, _ := spec["nodeGroups"].([]any)
	for _, g := range groups {
		gm := g.(map[string]any)
		gm["vcClusters"], gm["vmFolderPath"] = nil, nil
		if st, ok := gm["storage"].(map[string]any); ok {
			for _, k := range []string{"imagestoreNamePattern", "diskstoreNamePattern", "splitPolicy", "controllerType", "allocType"} {
				st[k] = nil
			}
		}
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

// create is POST /clusters (RestResource.createCluster, then
// ClusterManager.createCluster and ClusterConfigManager.createClusterConfig).
func (s *Server) create(w http.ResponseWriter, r *http.Request, body []byte) {
	spec, ok := s.readSpec(w, r, body)
	if !ok {
		return
	}
	name, isStr := spec["name"].(string)
	if !isStr {
		// CommonUtil.validateClusterName(null): a NullPointerException.
		internalError(w, "BDD.INTERNAL_ERROR", "Internal server error: UNKNOWN.")
		return
	}
	if !clusterName.MatchString(name) {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value: cluster name=%s.", name))
		return
	}
	distro := str(spec, "distro")
	if distro == "" {
		// A blank distro is the app manager's default stack; the stand-in's
		// is its only distro.
		if len(s.distros) == 1 {
			for n := range s.distros {
				distro = n
			}
		}
	}
	d, known := s.distros[strings.ToLower(distro)]
	if !known {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Distro %s.", distro))
		return
	}
	groups, _ := spec["nodeGroups"].([]any)
	if len(groups) == 0 {
		internalError(w, "CLUSTER_CONFIG.NODE_GROUP_NOT_EXISTING", "No node group is defined.")
		return
	}
	var badNames []string
	for _, g := range groups {
		if n := str(g.(map[string]any), "name"); !nodeGroupName.MatchString(n) {
			badNames = append(badNames, "'"+n+"'")
		}
	}
	if len(badNames) > 0 {
		internalError(w, "CLUSTER_CONFIG.NODE_GROUP_NAME_IS_INVALID", "Invalid node group names: "+strings.Join(badNames, ",")+".")
		return
	}
	if s.clusters[name] != nil {
		bddError(w, http.StatusBadRequest, "BDD.ALREADY_EXISTS", fmt.Sprintf("Cluster %s already exists.", name))
		return
	}
	spec["distro"], spec["distroVendor"], spec["distroVersion"] = distro, d.Vendor, d.Version
	c := &Cluster{Distro: distro, DistroVendor: d.Vendor, DistroVersion: d.Version, Status: "PROVISIONING", Spec: spec}
	s.clusters[name] = c
	fail := s.failNew[name]
	delete(s.failNew, name)
	s.start(w, r, name, fail, nil, "PROVISION_ERROR")
}

// config is PUT /cluster/{name}/config (ClusterManager.configCluster,
// ClusterConfigManager.updateAppConfig): the body's distro and
// distroVersion are replaced by the cluster's, so a config changes only
// the cluster's and the node groups' configuration.
func (s *Server) config(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	spec, ok := s.readSpec(w, r, body)
	if !ok {
		return
	}
	if !clusterName.MatchString(name) {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value: cluster name=%s.", name))
		return
	}
	c := s.clusters[name]
	if c == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Cluster %s.", name))
		return
	}
	switch c.Status {
	case "RUNNING", "SERVICE_WARNING", "CONFIGURE_ERROR", "SERVICE_STOPPED":
	default:
		internalError(w, "CLUSTER.UPDATE_NOT_ALLOWED", fmt.Sprintf("Cannot update cluster %s: To update a cluster, its status must be RUNNING, CONFIGURE_ERROR or SERVICE_ERROR.", name))
		return
	}
	have := map[string]bool{}
	if c.Spec != nil {
		groups, _ := c.Spec["nodeGroups"].([]any)
		for _, g := range groups {
			have[str(g.(map[string]any), "name")] = true
		}
	}
	newGroups, _ := spec["nodeGroups"].([]any)
	for _, g := range newGroups {
		gm := g.(map[string]any)
		if cfg, _ := gm["configuration"].(map[string]any); len(cfg) > 0 && !have[str(gm, "name")] {
			// updateNodegroupAppConfig looks the group up and uses it.
			internalError(w, "BDD.INTERNAL_ERROR", "Internal server error: UNKNOWN.")
			return
		}
	}
	fail := c.Fail
	c.Fail = ""
	c.Status = "CONFIGURING"
	s.start(w, r, name, fail, func(c *Cluster) { c.Spec = configured(c.Spec, spec) }, "CONFIGURE_ERROR")
}

// configured is the spec after a config with spec: the cluster's
// configuration, and each group's (empty when the body names none), from
// spec; everything else as it was.
func configured(old, spec map[string]any) map[string]any {
	out := clone(old)
	if out == nil {
		out = map[string]any{}
	}
	if cfg, _ := spec["configuration"].(map[string]any); len(cfg) > 0 {
		out["configuration"] = cfg
	} else {
		out["configuration"] = nil
	}
	newGroups, _ := spec["nodeGroups"].([]any)
	groups, _ := out["nodeGroups"].([]any)
	for _, g := range groups {
		gm := g.(map[string]any)
		gm["configuration"] = nil
		for _, ng := range newGroups {
			if ngm, ok := ng.(map[string]any); ok && ngm["name"] == gm["name"] {
				if cfg, _ := ngm["configuration"].(map[string]any); len(cfg) > 0 {
					gm["configuration"] = cfg
				}
			}
		}
	}
	return out
}

// resize is PUT /cluster/{name}/nodegroup/{group}/instancenum with a bare
// JSON integer (RestResource.resizeCluster, ClusterManager.resizeCluster):
// a count below the group's shrinks it (BDE 2.2 and 2.3 run a shrink);
// the same count is refused unless ?force=true.
func (s *Server) resize(w http.ResponseWriter, r *http.Request, name, group string, body []byte) {
	var num json.Number
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	n64 := int64(0)
	err := dec.Decode(&num)
	if err == nil {
		n64, err = num.Int64()
	}
	if err != nil {
		s.unreadable(w, "not an Integer")
		return
	}
	n := int(n64)
	if !clusterName.MatchString(name) {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value: cluster name=%s.", name))
		return
	}
	if !nodeGroupName.MatchString(group) {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value: node group name=%s.", group))
		return
	}
	if n <= 0 {
		bddError(w, http.StatusBadRequest, "BDD.INVALID_PARAMETER", fmt.Sprintf("Invalid value: node group instance number=%d.", n))
		return
	}
	c := s.clusters[name]
	if c == nil {
		bddError(w, http.StatusNotFound, "BDD.NOT_FOUND", fmt.Sprintf("Cannot find Cluster %s.", name))
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
		internalError(w, "CLUSTER.NODEGROUP_NOT_FOUND", fmt.Sprintf("Cannot find node group %s.", group))
		return
	}
	if c.Status != "RUNNING" && c.Status != "SERVICE_WARNING" {
		internalError(w, "CLUSTER.UPDATE_NOT_ALLOWED", fmt.Sprintf("Cannot update cluster %s: To update a cluster, its status must be RUNNING.", name))
		return
	}
	if n == instances(gm) && r.URL.Query().Get("force") != "true" {
		internalError(w, "CLUSTER.NO_NEED_TO_RESIZE", fmt.Sprintf("Cluster %s node group %s already has %d instances.", name, group, n))
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
