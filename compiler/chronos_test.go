package compiler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/out/chronos"
	chronosstandin "github.com/bdebundle/bundle/out/chronos/standin"
	"github.com/bdebundle/bundle/out/marathon"
	marathonstandin "github.com/bdebundle/bundle/out/marathon/standin"
	outsite "github.com/bdebundle/bundle/out/site"
)

// TestJobRender: the jobs are rendered in Chronos 2.3's JSON, with
// Chronos' defaults spelt out, the image as the cluster's Docker pulls it,
// and the jobs step of deploy accepts them.
func TestJobRender(t *testing.T) {
	text := applyEdits(t, exampleHCL(t), []edit{withJobs(jobBackup, jobVerify)})
	p, diags := compileFacts(t, text, nil)
	if diags.HasErrors() {
		t.Fatalf("compile: %s", diagText(diags))
	}
	if len(p.Jobs) != 2 || p.Jobs[1].Name != "verify" || strings.Join(p.Jobs[1].Parents, ",") != "backup" || p.Jobs[0].File != "clusters/mesos01/chronos/backup.json" {
		t.Fatalf("plan jobs: %+v %+v", p.Jobs[0], p.Jobs[len(p.Jobs)-1])
	}
	files := map[string][]byte{}
	for _, f := range p.Files {
		files[f.Path] = f.Data
	}
	var backup map[string]any
	if err := json.Unmarshal(files["clusters/mesos01/chronos/backup.json"], &backup); err != nil {
		t.Fatal(err)
	}
	ct, _ := backup["container"].(map[string]any)
	if backup["schedule"] != "R/2015-03-01T02:00:00Z/P1D" || backup["epsilon"] != "PT60S" || backup["disk"] != 256.0 ||
		backup["retries"] != 2.0 || ct["type"] != "DOCKER" || !strings.Contains(ct["image"].(string), "sha256") {
		t.Fatalf("backup.json: %s", files["clusters/mesos01/chronos/backup.json"])
	}
	env, _ := backup["environmentVariables"].([]any)
	if len(env) != 1 || env[0].(map[string]any)["name"] != "TARGET" {
		t.Fatalf("environmentVariables: %v", backup["environmentVariables"])
	}
	var verify map[string]any
	if err := json.Unmarshal(files["clusters/mesos01/chronos/verify.json"], &verify); err != nil {
		t.Fatal(err)
	}
	if _, ok := verify["schedule"]; ok || verify["cpus"] != 0.1 || verify["mem"] != 128.0 {
		t.Fatalf("verify.json: %s", files["clusters/mesos01/chronos/verify.json"])
	}
	var jobs []chronos.Job
	for _, n := range []string{"verify", "backup"} {
		jobs = append(jobs, chronos.Job{File: n, Definition: files["clusters/mesos01/chronos/"+n+".json"]})
	}
	if _, err := chronos.New(chronos.Config{URL: "127.0.0.1"}, jobs); err != nil {
		t.Fatalf("the jobs step refuses the rendered jobs: %v", err)
	}
	// The rendered apps and jobs go through the steps to the stand-ins,
	// which accept them; a second run writes nothing.
	ms, cs := marathonstandin.New(), chronosstandin.New()
	defer ms.Close()
	defer cs.Close()
	var apps []marathon.App
	for path, data := range files {
		if strings.HasPrefix(path, "clusters/mesos01/marathon/") {
			apps = append(apps, marathon.App{File: path, Definition: data})
		}
	}
	for run := range 2 {
		as, err := marathon.New(marathon.Config{URL: ms.URL, Poll: time.Millisecond, Wait: 10 * time.Second}, apps)
		if err != nil {
			t.Fatal(err)
		}
		js, err := chronos.New(chronos.Config{URL: cs.URL}, jobs)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []outsite.Step{as, js} {
			ch, err := st.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n := outsite.Writes(ch); (run == 0) != (n == 2) {
				t.Fatalf("run %d: %s plans %d writes: %+v", run, st.Name(), n, ch)
			}
			if err := st.Apply(context.Background(), ch, nil); err != nil {
				t.Fatalf("run %d: %s: %v", run, st.Name(), err)
			}
		}
	}
}

// TestChronosSinksCover walks every string of the rendered Chronos job
// JSON and checks that a row of sinks emits it, so checkSyntax has checked
// it: a field added to chronosJob without a row fails here. The constants
// the renderer writes itself and the container image (built by imageRef or
// loadRef from image.ref and vcenter.registry, which have rows) are exempt.
func TestChronosSinksCover(t *testing.T) {
	job := strings.Replace(jobBackup, `owner       =`, "description = \"nightly backup\"\n  epsilon     = \"PT30S\"\n  owner       =", 1)
	text := applyEdits(t, exampleHCL(t), []edit{withJobs(job, jobVerify)})
	d, diags := sitedef.Load(siteDir(t, text), sitedef.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading:%s", diagText(diags))
	}
	p, cd := compileFacts(t, text, nil)
	if errs := errorsOf(cd); len(errs) > 0 {
		t.Fatalf("errors:%s", diagText(errs))
	}
	emitted := map[string]bool{"DOCKER": true, "HOST": true, chronosEpsilon: true}
	for _, s := range sinks {
		s.Each(d, func(o occurrence) { emitted[o.Value] = true })
	}
	n := 0
	for _, f := range p.Files {
		if !strings.Contains(f.Path, "/chronos/") {
			continue
		}
		n++
		var v map[string]any
		if err := json.Unmarshal(f.Data, &v); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if c, ok := v["container"].(map[string]any); ok {
			delete(c, "image")
		}
		var walk func(path string, x any)
		walk = func(path string, x any) {
			switch x := x.(type) {
			case string:
				if !emitted[x] {
					t.Errorf("%s: %s = %q is emitted by no row of sinks", f.Path, path, x)
				}
			case []any:
				for i, e := range x {
					walk(fmt.Sprintf("%s[%d]", path, i), e)
				}
			case map[string]any:
				for k, e := range x {
					walk(path+"."+k, e)
				}
			}
		}
		walk("", v)
	}
	if n != 2 {
		t.Errorf("%d Chronos job files, want 2", n)
	}
}
