package compiler

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/iso8601"
)

// Chronos 2.3's defaults for a job's resources (the scheduler's
// mesos_task_cpu, mesos_task_mem and mesos_task_disk), its epsilon and its
// retries; the rendered job spells them out so the site compares equal.
const (
	chronosCPUs    = 0.1
	chronosMem     = 128
	chronosDisk    = 256
	chronosEpsilon = "PT60S"
	chronosRetries = 2
)

// JobPlan is one Chronos job in the bundle.
type JobPlan struct {
	Name     string   `json:"name"`
	Cluster  string   `json:"cluster"`
	File     string   `json:"file"` // clusters/<cluster>/chronos/<job>.json
	Schedule string   `json:"schedule,omitempty"`
	Parents  []string `json:"parents,omitempty"`
	Image    string   `json:"image,omitempty"`
}

// jobNameRE is what a job name may hold: Chronos' job name characters
// (JobUtils.jobNamePattern `[\w\s#_-]+`, JobUtils.scala@2.3.2: no dot)
// without the space, since the name is also a file name in the bundle.
var jobNameRE = regexp.MustCompile(`^[A-Za-z0-9_#-]+$`)

// ownerRE is one mail address: Chronos mails the owner when a job fails.
var ownerRE = regexp.MustCompile(`^[^@\s,]+@[^@\s,]+\.[^@\s,]+$`)

// chronosOps are the constraint operators Chronos 2.3 knows: EQUALS only
// from 2.3.3 (EqualsConstraint.scala@2.3.4); 2.3.2 has no constraints and
// ignores the field.
var chronosOps = []string{"EQUALS"}

// job plans a job block (checkJob checks it).
func (c *compiler) job(j *sitedef.Job) *JobPlan {
	jp := &JobPlan{Name: j.Name, Schedule: j.Schedule}
	if j.Cluster != nil {
		jp.Cluster = j.Cluster.Name
		jp.File = "clusters/" + j.Cluster.Name + "/chronos/" + j.Name + ".json"
	}
	if j.Image != nil {
		jp.Image = j.Image.Name
	}
	for _, p := range j.Parents {
		jp.Parents = append(jp.Parents, p.Name)
	}
	return jp
}

// checkJob checks a job block: its name, command, schedule or parents,
// epsilon, owner, resources, retries, that its parents run on its cluster,
// which runs Chronos, and its constraints.
func (c *compiler) checkJob(j *sitedef.Job) {
	if !jobNameRE.MatchString(j.Name) {
		c.errorf(j.DeclRange, "Invalid job name", "The Chronos job name %q must hold only letters, digits and _ # - (Chronos 2.3 refuses a dot; it names the job in Chronos and its file in the bundle).", j.Name)
	}
	if strings.TrimSpace(j.Command) == "" {
		c.errorf(attrRange(j.Body, "command", j.DeclRange), "Empty command", "Job %q needs a command; Chronos runs it with sh -c.", j.Name)
	}
	switch {
	case j.Schedule != "" && len(j.Parents) > 0:
		c.errorf(attrRange(j.Body, "parents", j.DeclRange), "Schedule and parents", "Job %q has a schedule and parents; Chronos runs a job on a schedule or after its parents, not both.", j.Name)
	case j.Schedule == "" && len(j.Parents) == 0:
		c.errorf(j.DeclRange, "No schedule", "Job %q needs a schedule (an ISO 8601 repeating interval like \"R/2015-03-01T02:00:00Z/P1D\") or parents.", j.Name)
	case j.Schedule != "":
		if _, err := iso8601.Parse(j.Schedule); err != nil {
			c.errorf(attrRange(j.Body, "schedule", j.DeclRange), "Invalid ISO 8601 schedule", "The schedule of job %q: %v.", j.Name, err)
		}
	}
	if j.Epsilon != "" {
		if err := iso8601.CheckPeriod(j.Epsilon); err != nil {
			c.errorf(attrRange(j.Body, "epsilon", j.DeclRange), "Invalid epsilon", "The epsilon of job %q (how late a run may start): %v.", j.Name, err)
		}
	}
	for _, o := range strings.Split(j.Owner, ",") {
		if !ownerRE.MatchString(strings.TrimSpace(o)) {
			c.errorf(attrRange(j.Body, "owner", j.DeclRange), "Owner not an email address", "The owner of job %q is %q; Chronos mails the owner when the job fails, so it is an address (or several, separated by commas) like ops@example.com.", j.Name, j.Owner)
			break
		}
	}
	for _, r := range []struct {
		name string
		v    *float64
	}{{"cpus", j.CPUs}, {"mem", j.Mem}, {"disk", j.Disk}} {
		if r.v != nil && *r.v <= 0 {
			c.errorf(attrRange(j.Body, r.name, j.DeclRange), "Invalid job resources", "%s of job %q must be positive; got %g.", r.name, j.Name, *r.v)
		}
	}
	if j.Retries != nil && *j.Retries < 0 {
		c.errorf(attrRange(j.Body, "retries", j.DeclRange), "Invalid retries", "retries of job %q must be 0 or more; got %d.", j.Name, *j.Retries)
	}
	for _, p := range j.Parents {
		if j.Cluster != nil && p.Cluster != nil && p.Cluster != j.Cluster {
			c.errorf(attrRange(j.Body, "parents", j.DeclRange), "Parent on another cluster", "Job %q runs on cluster %q, but its parent %q runs on cluster %q; a Chronos knows only its own cluster's jobs.", j.Name, j.Cluster.Name, p.Name, p.Cluster.Name)
		}
	}
	if cl := j.Cluster; cl != nil {
		if !slices.ContainsFunc(cl.NodeGroups, func(g *sitedef.NodeGroup) bool { return hasRole(g, "mesos_chronos") }) {
			c.errorf(attrRange(j.Body, "cluster", j.DeclRange), "Cluster without Chronos", "Job %q runs on cluster %q, which has no node group with the mesos_chronos role, so no Chronos runs there.", j.Name, cl.Name)
		} else {
			c.checkJobConstraints(j)
		}
	}
}

// checkJobCycles reports jobs whose parents lead back to them.
func (c *compiler) checkJobCycles() {
	reportCycles(c.d.Jobs, func(j *sitedef.Job) []*sitedef.Job { return j.Parents }, func(j *sitedef.Job) string { return j.Name },
		func(j *sitedef.Job, cycle string) {
			c.errorf(attrRange(j.Body, "parents", j.DeclRange), "Job dependency cycle", "Jobs depend on each other in a cycle: %s; Chronos would never run them.", cycle)
		})
}

// checkJobConstraints checks a job's constraints ([attribute, "EQUALS",
// value], the one operator of Chronos 2.3) and that a slave they allow can
// hold the job's one task, as the app checks do.
func (c *compiler) checkJobConstraints(j *sitedef.Job) {
	cl := j.Cluster
	v := clusterVersions(cl)
	rng := attrRange(j.Body, "constraints", j.DeclRange)
	if len(j.Constraints) > 0 && !versionAtLeast(v.Chronos, "2.3.3") {
		// JobDeserializer.scala@2.3.2 reads no constraints;
		// EqualsConstraint.scala came with 2.3.3.
		c.warnf(rng, "Chronos ignores job constraints", "Chronos %s has no job constraints (they came with 2.3.3) and ignores the field: job %q may run on any slave of cluster %q.", v.Chronos, j.Name, cl.Name)
	}
	var cons [][]string
	for _, con := range j.Constraints {
		if len(con) != 3 || con[0] == "" {
			c.errorf(rng, "Invalid job constraint", "A Chronos constraint is [attribute, \"EQUALS\", value]; got %q.", con)
			return
		}
		if !slices.Contains(chronosOps, con[1]) {
			c.errorf(rng, "Unknown Chronos constraint operator", "%q is not a constraint operator of Chronos %s (%s).%s", con[1], v.Chronos, strings.Join(chronosOps, ", "), suggest(con[1], chronosOps))
			return
		}
		if con[0] != "hostname" {
			c.checkAttrValue(v, con[0], con[2], rng, fmt.Sprintf("job %q constraint %q", j.Name, con))
		}
		cons = append(cons, []string{con[0], "CLUSTER", con[2]}) // the same test on one host
	}
	var allowed []host
	for _, h := range hostsWithRole(cl, "mesos_slave") {
		if allows(cons, h) {
			allowed = append(allowed, h)
		}
	}
	if len(allowed) == 0 {
		c.errorf(rng, "Unsatisfiable job constraints", "No slave of cluster %q satisfies the constraints of job %q%s.", cl.Name, j.Name, describeSlaves(cl))
		return
	}
	cpus, mem := floatOr(j.CPUs, chronosCPUs), floatOr(j.Mem, chronosMem)
	for _, h := range allowed {
		g := h.Group
		if g.CPU <= 0 || g.MemoryMB <= 0 || (float64(g.CPU)+1e-9 >= cpus && float64(slaveMemMB(g.MemoryMB))+1e-9 >= mem) {
			return
		}
	}
	c.errorf(attrRange(j.Body, "mem", attrRange(j.Body, "cpus", j.DeclRange)), "Job fits no slave",
		"Job %q asks for %s and %g MB, more than any slave its constraints allow offers.", j.Name, cpusText(cpus), mem)
}

func floatOr(p *float64, d float64) float64 {
	if p != nil {
		return *p
	}
	return d
}

func cpusText(n float64) string {
	if n == 1 {
		return "1 CPU"
	}
	return fmt.Sprintf("%g CPUs", n)
}
