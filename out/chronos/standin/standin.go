package standin

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bdebundle/bundle/internal/iso8601"
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

	mu   sync.Mutex
	rec  callrec.Recorder[Call]
	jobs map[string]map[string]any
}

// New starts a stand-in on loopback with no jobs.
func New() *Server {
	s := &Server{jobs: map[string]map[string]any{}}
	s.Server = httptest.NewServer(callrec.JSON(&s.rec, &s.mu, "chronos", func() string { return s.Credentials }, s.route))
	return s
}

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call { return s.rec.Calls() }

// Writes returns the calls other than GET.
func (s *Server) Writes() []Call { return s.rec.Writes() }

// Reset forgets the calls recorded so far.
func (s *Server) Reset() { s.rec.Reset() }

// Set changes a field of a job as Chronos would (a run moves the
// schedule's start, someone disables it).
func (s *Server) Set(job, field string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[job]; j != nil {
		j[field] = v
	}
}

// Job returns a job as Chronos holds it (nil when missing).
func (s *Server) Job(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[name]; j != nil {
		return view(j)
	}
	return nil
}

func (s *Server) route(r *http.Request, body []byte) (int, any) {
	switch p := r.URL.Path; {
	case p == "/scheduler/jobs" && r.Method == http.MethodGet:
		out := []any{}
		for _, n := range slices.Sorted(maps.Keys(s.jobs)) {
			out = append(out, view(s.jobs[n]))
		}
		return http.StatusOK, out
	case p == "/scheduler/iso8601" && r.Method == http.MethodPost:
		return s.post(body, true)
	case p == "/scheduler/dependency" && r.Method == http.MethodPost:
		return s.post(body, false)
	case strings.HasPrefix(p, "/scheduler/job/") && r.Method == http.MethodPut:
		// Chronos starts the job now; nothing runs here.
		if s.jobs[strings.TrimPrefix(p, "/scheduler/job/")] == nil {
			return http.StatusBadRequest, nil
		}
		return http.StatusNoContent, nil
	}
	return http.StatusNotFound, nil
}

// fields are the fields of a Chronos 2.3 job (JobDeserializer.scala@2.3.4
// reads these; it ignores any other).
var fields = map[string]bool{"name": true, "command": true, "epsilon": true, "executor": true, "executorFlags": true,
	"retries": true, "owner": true, "ownerName": true, "description": true, "async": true, "cpus": true, "disk": true,
	"mem": true, "disabled": true, "uris": true, "highPriority": true, "runAsUser": true, "container": true,
	"environmentVariables": true, "shell": true, "arguments": true, "softError": true, "dataProcessingJobType": true,
	"constraints": true, "schedule": true, "scheduleTimeZone": true, "parents": true,
	"successCount": true, "errorCount": true, "lastSuccess": true, "lastError": true, "errorsSinceLastSuccess": true}

// namePattern is JobUtils.jobNamePattern (JobUtils.scala@2.3.2 and
// @2.3.4): no dot.
var namePattern = regexp.MustCompile(`^[\w\s#_-]+$`)

func bad(m string) (int, any) { return http.StatusBadRequest, map[string]any{"message": m} }

func (s *Server) post(body []byte, scheduled bool) (int, any) {
	var j map[string]any
	if err := json.Unmarshal(body, &j); err != nil || j == nil {
		return bad("invalid JSON")
	}
	for k := range j {
		if !fields[k] {
			delete(j, k) // JobDeserializer reads only its fields
		}
	}
	if cs, ok := j["constraints"].([]any); ok {
		// JobDeserializer.scala@2.3.4 keeps EQUALS constraints and drops
		// any other operator without a word.
		kept := []any{}
		for _, c := range cs {
			if cc, _ := c.([]any); len(cc) == 3 && cc[1] == "EQUALS" {
				kept = append(kept, c)
			}
		}
		j["constraints"] = kept
	}
	name, _ := j["name"].(string)
	if name == "" || !namePattern.MatchString(name) {
		return bad("the job's name is invalid. Allowed names: '([\\w\\s#_-]+)'")
	}
	if c, _ := j["command"].(string); c == "" {
		return bad("a job needs a command")
	}
	ps, hasParents := j["parents"].([]any)
	if scheduled {
		if hasParents {
			// JobDeserializer makes a DependencyBasedJob, which
			// Iso8601JobResource's post does not take.
			return bad("a scheduled job has no parents: post it to /scheduler/dependency")
		}
		sc, ok := j["schedule"].(string)
		if !ok {
			sc = "R1//PT24H" // JobDeserializer: no schedule is "now"
			j["schedule"] = sc
		}
		t, err := parse(sc)
		if err != nil {
			// Iso8601JobResource.scala@2.3.2: 400 without a body.
			return http.StatusBadRequest, nil
		}
		parts := strings.Split(sc, "/")
		j["schedule"] = parts[0] + "/" + t.UTC().Format("2006-01-02T15:04:05.000Z") + "/" + parts[2]
	} else {
		// DependentJobResource.scala@2.3.2: no parents throws a plain
		// Exception, and JobGraph.addDependency a NoSuchElementException
		// for a parent it lacks; both end in a 500 without a body.
		if len(ps) == 0 {
			return http.StatusInternalServerError, nil
		}
		for _, p := range ps {
			pn, _ := p.(string)
			if s.jobs[pn] == nil || pn == name {
				return http.StatusInternalServerError, nil
			}
		}
		// With parents, JobDeserializer ignores a schedule.
		delete(j, "schedule")
		delete(j, "scheduleTimeZone")
	}
	s.jobs[name] = j
	return http.StatusNoContent, nil
}

// parse is Chronos' reading of a schedule: an empty start is now.
func parse(sc string) (time.Time, error) {
	parts := strings.Split(sc, "/")
	if len(parts) == 3 && parts[1] == "" {
		sc = parts[0] + "/" + time.Now().UTC().Format(time.RFC3339) + "/" + parts[2]
	}
	x, err := iso8601.Parse(sc)
	return x.Start, err
}

// view is a job as GET /scheduler/jobs answers it.
func view(j map[string]any) map[string]any {
	v := map[string]any{"epsilon": "PT60S", "executor": "", "executorFlags": "", "retries": 2, "owner": "", "ownerName": "",
		"description": "", "async": false, "successCount": 0, "errorCount": 0, "lastSuccess": "", "lastError": "",
		"cpus": 0.1, "disk": 256.0, "mem": 128.0, "disabled": false, "softError": false, "dataProcessingJobType": false,
		"errorsSinceLastSuccess": 0, "uris": []any{}, "environmentVariables": []any{}, "arguments": []any{},
		"highPriority": false, "runAsUser": "root", "constraints": []any{}, "shell": true}
	b, _ := json.Marshal(j)
	var cp map[string]any
	_ = json.Unmarshal(b, &cp)
	maps.Copy(v, cp)
	if _, ok := v["parents"]; !ok {
		v["scheduleTimeZone"] = ""
	}
	return v
}
