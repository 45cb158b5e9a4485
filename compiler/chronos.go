package compiler

import (
	"github.com/bdebundle/bundle/hcl/sitedef"
)

// chronosJob is a job in Chronos 2.3's JSON (POST /scheduler/iso8601 or
// /scheduler/dependency).
type chronosJob struct {
	Name                 string            `json:"name"`
	Command              string            `json:"command"`
	Schedule             string            `json:"schedule,omitempty"`
	Parents              []string          `json:"parents,omitempty"`
	Epsilon              string            `json:"epsilon"`
	Owner                string            `json:"owner"`
	Description          string            `json:"description,omitempty"`
	CPUs                 float64           `json:"cpus"`
	Mem                  float64           `json:"mem"`
	Disk                 float64           `json:"disk"`
	Retries              int               `json:"retries"`
	Container            *chronosContainer `json:"container,omitempty"`
	EnvironmentVariables []chronosEnv      `json:"environmentVariables,omitempty"`
	Constraints          [][]string        `json:"constraints,omitempty"`
}

type chronosContainer struct {
	Type    string `json:"type"`
	Image   string `json:"image"`
	Network string `json:"network"`
}

type chronosEnv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// jobsOf returns the jobs of a cluster, in definition order.
func (c *compiler) jobsOf(cl *sitedef.Cluster) []*sitedef.Job {
	var out []*sitedef.Job
	for _, j := range c.d.Jobs {
		if j.Cluster == cl {
			out = append(out, j)
		}
	}
	return out
}

// renderChronos renders clusters/<c>/chronos/<job>.json for every job.
func (c *compiler) renderChronos() []*File {
	var fs files
	for _, cl := range c.d.Clusters {
		c.renderJobs(&fs, cl)
	}
	return fs
}

// renderJobs renders a cluster's jobs.
func (c *compiler) renderJobs(fs *files, cl *sitedef.Cluster) {
	for _, j := range c.jobsOf(cl) {
		cj := chronosJob{Name: j.Name, Command: j.Command, Schedule: j.Schedule, Epsilon: j.Epsilon, Owner: j.Owner,
			Description: j.Description, CPUs: floatOr(j.CPUs, chronosCPUs), Mem: floatOr(j.Mem, chronosMem),
			Disk: floatOr(j.Disk, chronosDisk), Retries: intOr(j.Retries, chronosRetries), Constraints: j.Constraints}
		if cj.Epsilon == "" {
			cj.Epsilon = chronosEpsilon
		}
		for _, pj := range j.Parents {
			cj.Parents = append(cj.Parents, pj.Name)
		}
		if j.Image != nil {
			cj.Container = &chronosContainer{Type: "DOCKER", Image: c.jobImages[j], Network: "HOST"}
		}
		for _, n := range sortedKeys(j.Env) {
			cj.EnvironmentVariables = append(cj.EnvironmentVariables, chronosEnv{Name: n, Value: j.Env[n]})
		}
		k := "job." + j.Name + "."
		fs.add("clusters/"+cl.Name+"/chronos/"+j.Name+".json", marshal(cj),
			c.sensitive(k+"command", k+"env", k+"description", k+"constraints", k+"owner"))
	}
}

// chronosSinks are the strings of the definition that land in the Chronos
// jobs (chronos.go renders them) and the syntaxes each must fit: rows
// of the table checkSyntax checks (syntax.go).
var chronosSinks = []sink{
	{"job label", "clusters/CLUSTER/chronos/JOB.json", []Syntax{SyntaxFileName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, j := range d.Jobs {
			emit(occurrence{Value: j.Name, Range: j.DeclRange, Where: "job label"})
		}
	}},
	{"job.command, schedule, owner, description, epsilon, env values, constraints", "Chronos job JSON", []Syntax{SyntaxJSON}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, j := range d.Jobs {
			k := "job." + j.Name
			for _, a := range []struct{ name, v string }{{"command", j.Command}, {"schedule", j.Schedule}, {"owner", j.Owner}, {"description", j.Description}, {"epsilon", j.Epsilon}} {
				emit(attrOcc(j.Body, a.name, j.DeclRange, "job "+j.Name, a.v, k+"."+a.name))
			}
			emitTaskValues(emit, "job", j.Name, j.Body, j.DeclRange, j.Env, j.Constraints)
		}
	}},
	{"job.env names", "Chronos job JSON (environmentVariables)", []Syntax{SyntaxEnvName}, func(d *sitedef.Definition, emit func(occurrence)) {
		for _, j := range d.Jobs {
			emitEnvNames(emit, "job", j.Name, j.Body, j.DeclRange, j.Env)
		}
	}},
}

// checkJobImage settles, in the check pass, the reference Docker pulls a
// job's image by (c.jobImages, for the renderer), as checkAppImage does
// for an app: loadRef, which also plans the docker load archive, on
// clusters whose Docker loads images, else imageRef.
func (c *compiler) checkJobImage(j *sitedef.Job) {
	if j.Image == nil {
		return
	}
	if c.jobImages == nil {
		c.jobImages = map[*sitedef.Job]string{}
	}
	if c.loadsImages(j.Cluster) {
		c.jobImages[j] = c.loadRef(&sitedef.App{Name: j.Name, Image: j.Image, Cluster: j.Cluster, Body: j.Body, DeclRange: j.DeclRange})
	} else {
		c.jobImages[j] = c.imageRef(j.Image)
	}
}
