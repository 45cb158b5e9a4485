package standin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/out/internal/callrec"
)

// Call is one request the stand-in answered.
type Call = callrec.Call

// Server is a running stand-in.
type Server struct {
	*httptest.Server

	// Credentials, when set ("user:password"), are required in HTTP basic
	// auth, as with --http_credentials: anything else is 401.
	Credentials string

	mu      sync.Mutex
	rec     callrec.Recorder[Call]
	apps    map[string]map[string]any
	deps    map[string]*deployment // by id
	version int
	nextID  int
	nextPrt int

	// Polls is how many polls of /v2/deployments a deployment stays.
	Polls int
	// Unhealthy lists apps whose tasks never become healthy.
	Unhealthy map[string]bool
}

type deployment struct {
	id, app string
	polls   int
}

// New starts a stand-in on loopback with no apps.
func New() *Server {
	s := &Server{apps: map[string]map[string]any{}, deps: map[string]*deployment{}, Polls: 1, Unhealthy: map[string]bool{}, nextPrt: 10000}
	s.Server = httptest.NewServer(callrec.JSON(&s.rec, &s.mu, "marathon", func() string { return s.Credentials }, s.route))
	return s
}

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call { return s.rec.Calls() }

// Writes returns the calls other than GET.
func (s *Server) Writes() []Call { return s.rec.Writes() }

// Reset forgets the calls recorded so far.
func (s *Server) Reset() { s.rec.Reset() }

// App returns Marathon's view of an app (nil when missing).
func (s *Server) App(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[id]
	if a == nil {
		return nil
	}
	return s.view(a)
}

// Set changes a field of an app as someone else would (a scale by hand).
func (s *Server) Set(id, field string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[id]; a != nil {
		a[field] = v
	}
}

// Lock starts a deployment on an app that ends only after polls polls (a
// deployment someone else started).
func (s *Server) Lock(id string, polls int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deploy(id, polls)
}

func (s *Server) deploy(app string, polls int) string {
	s.nextID++
	d := &deployment{id: fmt.Sprintf("5ed4c0c5-9ff8-4a6f-a0cd-%012d", s.nextID), app: app, polls: polls}
	s.deps[d.id] = d
	if a := s.apps[app]; a != nil {
		a["tasksRunning"], a["tasksHealthy"] = 0, 0
	}
	return d.id
}

func msg(m string) map[string]any { return map[string]any{"message": m} }

func (s *Server) route(r *http.Request, body []byte) (int, any) {
	p := r.URL.Path
	switch {
	case p == "/v2/deployments" && r.Method == http.MethodGet:
		return http.StatusOK, s.deployments()
	case strings.HasPrefix(p, "/v2/apps/"):
		id := strings.TrimPrefix(p, "/v2/apps")
		switch r.Method {
		case http.MethodGet:
			a := s.apps[id]
			if a == nil {
				return http.StatusNotFound, msg(fmt.Sprintf("App '%s' does not exist", id))
			}
			return http.StatusOK, map[string]any{"app": s.view(a)}
		case http.MethodPut:
			return s.put(id, r.URL.Query().Get("force") == "true", body)
		}
	}
	return http.StatusNotFound, msg("not found")
}

func (s *Server) deployments() []any {
	out := []any{}
	ids := slices.Sorted(maps.Keys(s.deps))
	for _, id := range ids {
		d := s.deps[id]
		if d.polls <= 0 {
			delete(s.deps, id)
			s.finish(d.app)
			continue
		}
		d.polls--
		out = append(out, map[string]any{"id": d.id, "version": s.apps[d.app]["version"], "affectedApps": []string{d.app},
			"steps": []any{}, "currentActions": []any{}, "currentStep": 1, "totalSteps": 1})
	}
	return out
}

func (s *Server) finish(app string) {
	a := s.apps[app]
	if a == nil {
		return
	}
	n, _ := a["instances"].(float64)
	a["tasksRunning"] = int(n)
	if hc, _ := a["healthChecks"].([]any); len(hc) > 0 && !s.Unhealthy[app] {
		a["tasksHealthy"] = int(n)
	}
}

// fields are the fields of Marathon 0.8's AppUpdate.
var fields = map[string]bool{"id": true, "cmd": true, "args": true, "user": true, "env": true, "instances": true, "cpus": true,
	"mem": true, "disk": true, "executor": true, "constraints": true, "uris": true, "storeUrls": true, "ports": true,
	"requirePorts": true, "backoffSeconds": true, "backoffFactor": true, "maxLaunchDelaySeconds": true, "container": true,
	"healthChecks": true, "dependencies": true, "upgradeStrategy": true, "labels": true, "version": true}

var segment = regexp.MustCompile(`^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$`)

func (s *Server) put(id string, force bool, body []byte) (int, any) {
	var upd map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&upd); err != nil || upd == nil {
		return http.StatusBadRequest, msg("Invalid JSON")
	}
	for k := range upd {
		if !fields[k] {
			delete(upd, k) // Play's Reads[AppUpdate] reads only its own fields
		}
	}
	if uid, ok := upd["id"].(string); ok {
		// Marathon prefers the body's id to the path's (AppsResource.replace).
		id = "/" + strings.TrimPrefix(uid, "/")
	}
	for _, seg := range strings.Split(strings.TrimPrefix(id, "/"), "/") {
		if !segment.MatchString(seg) {
			return 422, map[string]any{"message": "Object is not valid", "errors": []any{map[string]any{"attribute": "id", "error": "path contains invalid characters (allowed: lowercase letters, digits, hyphens, \".\", \"..\")"}}}
		}
	}
	if err := readable(upd); err != "" {
		return http.StatusBadRequest, msg("Invalid JSON: " + err)
	}
	if err := validate(upd); err != "" {
		return 422, msg(err)
	}
	for _, dp := range s.deps {
		if dp.app == id && !force {
			return http.StatusConflict, map[string]any{
				"message":     fmt.Sprintf("App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/%s'.", dp.id),
				"deployments": []any{map[string]any{"id": dp.id}}}
		}
	}
	for k, dp := range s.deps {
		if dp.app == id {
			delete(s.deps, k)
		}
	}
	a, existed := s.apps[id]
	if !existed {
		a = map[string]any{"instances": 1.0, "cpus": 1.0, "mem": 128.0}
		s.apps[id] = a
	}
	maps.Copy(a, upd)
	a["id"] = id
	s.assignPorts(a)
	s.version++
	a["version"] = fmt.Sprintf("2015-03-01T00:00:%02d.000Z", s.version%60)
	dep := s.deploy(id, s.Polls)
	st := http.StatusOK
	if !existed {
		st = http.StatusCreated
	}
	return st, map[string]any{"deploymentId": dep, "version": a["version"]}
}

func (s *Server) assignPorts(a map[string]any) {
	if ps, ok := a["ports"].([]any); ok {
		for i, p := range ps {
			if f, _ := p.(float64); f == 0 {
				ps[i] = float64(s.nextPrt)
				s.nextPrt++
			}
		}
	}
	if ct, ok := a["container"].(map[string]any); ok {
		if dk, ok := ct["docker"].(map[string]any); ok {
			if pms, ok := dk["portMappings"].([]any); ok {
				for _, pm := range pms {
					if m, ok := pm.(map[string]any); ok {
						if f, _ := m["servicePort"].(float64); f == 0 {
							m["servicePort"] = float64(s.nextPrt)
							s.nextPrt++
						}
					}
				}
			}
		}
	}
}

// readable is what Play's Reads[AppUpdate] refuses (a JsResultException,
// 400): negative instances, a container type Mesos does not have.
func readable(a map[string]any) string {
	if v, ok := a["instances"]; ok {
		if f, isNum := v.(float64); !isNum || f < 0 {
			return "instances: error.min"
		}
	}
	for _, k := range []string{"cpus", "mem", "disk"} {
		if v, ok := a[k]; ok {
			if _, isNum := v.(float64); !isNum {
				return k + ": error.expected.jsnumber"
			}
		}
	}
	if ct, ok := a["container"].(map[string]any); ok {
		if t, ok := ct["type"]; ok && t != "DOCKER" && t != "MESOS" {
			return fmt.Sprintf("%v is not a valid container type", t)
		}
	}
	return ""
}

// validate is what Marathon refuses with 422: a constraint operator its
// Constraint.Operator enum lacks (valueOf throws IllegalArgumentException).
func validate(a map[string]any) string {
	if cs, ok := a["constraints"].([]any); ok {
		for _, c := range cs {
			cc, _ := c.([]any)
			if len(cc) < 2 {
				continue
			}
			op, _ := cc[1].(string)
			switch op {
			case "UNIQUE", "CLUSTER", "GROUP_BY", "LIKE", "UNLIKE":
			default:
				return fmt.Sprintf("No enum constant mesosphere.marathon.Protos.Constraint.Operator.%s", op)
			}
		}
	}
	return ""
}

// view is an app as GET answers it: with Marathon's defaults and fields.
func (s *Server) view(a map[string]any) map[string]any {
	v := map[string]any{"cmd": nil, "args": nil, "user": nil, "env": map[string]any{}, "disk": 0.0, "executor": "",
		"constraints": []any{}, "uris": []any{}, "storeUrls": []any{}, "ports": []any{}, "requirePorts": false,
		"backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 3600, "container": nil,
		"healthChecks": []any{}, "dependencies": []any{}, "labels": map[string]any{},
		"upgradeStrategy": map[string]any{"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
		"tasksStaged":     0, "tasksRunning": 0, "tasksHealthy": 0, "tasksUnhealthy": 0}
	b, _ := json.Marshal(a)
	var cp map[string]any
	_ = json.Unmarshal(b, &cp)
	maps.Copy(v, cp)
	if hcs, ok := v["healthChecks"].([]any); ok {
		for _, h := range hcs {
			if m, ok := h.(map[string]any); ok {
				if _, ok := m["command"]; !ok {
					m["command"] = nil
				}
				m["ignoreHttp1xx"] = false
			}
		}
	}
	deps := []any{}
	for _, id := range slices.Sorted(maps.Keys(s.deps)) {
		if s.deps[id].app == a["id"] {
			deps = append(deps, map[string]any{"id": id})
		}
	}
	v["deployments"] = deps
	return v
}
