package compiler

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/internal/testutil"
)

type renderedCookbook struct {
	Data      map[string]any            `json:"data"`
	Overrides map[string]map[string]any `json:"overrides"`
	Files     map[string]string         `json:"files"`
}

func renderCookbook(t *testing.T, p *Plan) renderedCookbook {
	t.Helper()
	ruby := needTool(t, "ruby", "ruby")
	dir := writePlanFiles(t, p, cookbookPrefix(p))
	script := filepath.Join(testutil.ModuleRoot(t), "compiler", "testdata", "ruby", "render_cookbook.rb")
	out, err := exec.Command(ruby, script, dir, CookbookName(p.Name)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("rendering the cookbook with Ruby: %v\n%s", err, stderr)
	}
	var r renderedCookbook
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("the Ruby renderer's output: %v", err)
	}
	return r
}

// Each template, rendered by Erubis (Chef 11's engine) with the variables its recipe
// passes (the library's, with the planned hosts), equals byte for byte the
// file the compiler renders; and the cookbook writes every file the
// compiler renders for a node.
func TestCookbookRendersCompilerFiles(t *testing.T) {
	p := examplePlan(t)
	r := renderCookbook(t, p)
	for path, got := range r.Files {
		f := planFile(t, p, path)
		if got != string(f.Data) {
			t.Errorf("%s: the cookbook renders\n%q\nthe compiler\n%q", path, got, f.Data)
		}
	}
	for _, f := range p.Files {
		covered := strings.Contains(f.Path, "/nodes/") || path.Base(f.Path) == "haproxy.cfg" || path.Base(f.Path) == "marathons"
		if strings.HasPrefix(f.Path, "clusters/") && covered {
			if _, ok := r.Files[f.Path]; !ok {
				t.Errorf("%s is rendered but the cookbook does not write it", f.Path)
			}
		}
	}
	cb := cookbookPrefix(p)
	for _, cl := range p.Clusters {
		want := planFile(t, p, "clusters/"+cl.Name+"/haproxy/haproxy-marathon-bridge")
		if got := planFile(t, p, cb+"files/default/"+cl.Name+"/haproxy-marathon-bridge"); !bytes.Equal(got.Data, want.Data) || got.Sensitive != want.Sensitive {
			t.Errorf("the cookbook's bridge of %s differs from clusters/%s/haproxy/haproxy-marathon-bridge", cl.Name, cl.Name)
		}
		cron := planFile(t, p, "clusters/"+cl.Name+"/haproxy/cron.d/haproxy-marathon-bridge")
		if got := planFile(t, p, cb+"files/default/haproxy-marathon-bridge.cron"); !bytes.Equal(got.Data, cron.Data) {
			t.Errorf("the cookbook's cron.d file differs from the cluster's")
		}
	}
	if !planFile(t, p, cb+"attributes/default.rb").Sensitive {
		t.Error("attributes/default.rb holds the stats auth but is not sensitive")
	}
}

// The data Ruby reads back from attributes/default.rb is the data the
// compiler meant, and each group's node['mesos'] overrides are its own.
func TestCookbookAttributes(t *testing.T) {
	p := examplePlan(t)
	r := renderCookbook(t, p)
	roundTrip := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var x any
		if err := json.Unmarshal(b, &x); err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(x)
		return string(b)
	}
	cl := r.Data["clusters"].(map[string]any)["mesos01"].(map[string]any)
	groups := cl["groups"].(map[string]any)
	if got := roundTrip(cl["group_order"]); got != `["master","fast","bulk"]` {
		t.Errorf("group order %s", got)
	}
	bulk := groups["bulk"].(map[string]any)
	if got := roundTrip(bulk["attributes"]); got != `{"rack":"r2","storage_profile":"vmax"}` {
		t.Errorf("bulk attributes %s", got)
	}
	if got := roundTrip(cl["zookeeper"]); got != `{"path":"mesos","port":2181}` {
		t.Errorf("zookeeper %s", got)
	}
	// node['mesos'] holds only what the mesos cookbook reads: the slave's
	// /etc/default/mesos-slave is MASTER alone; isolation is a flag file.
	if got := roundTrip(r.Overrides["mesos01/bulk"]["slave"]); got != `{"master":"`+"`cat /etc/mesos/zk`"+`"}` {
		t.Errorf("bulk slave override %s", got)
	}
	if _, ok := r.Overrides["mesos01/bulk"]["isolation"]; ok {
		t.Error("node['mesos']['isolation'] is set: only mesos-slave-env.sh reads it, and nothing reads that file")
	}
	if got := bulk["files"].(map[string]any)["/etc/mesos-slave/isolation"]; got != dockerIsolation+"\n" {
		t.Errorf("bulk isolation flag file %q", got)
	}
	if _, ok := r.Overrides["mesos01/master"]["slave"]; ok {
		t.Error("the master group gets slave overrides")
	}
	if got := r.Overrides["mesos01/master"]["zookeeper_path"]; got != "mesos" {
		t.Errorf("zookeeper_path override %v", got)
	}
	master := groups["master"].(map[string]any)
	if got := master["files"].(map[string]any)["/etc/mesos-master/quorum"]; got != "2\n" {
		t.Errorf("quorum of 3 masters: %q", got)
	}
	if got := master["upstream_files"].(map[string]any)["/etc/init/marathon.conf"].(string); !strings.Contains(got, "exec /usr/bin/marathon\n") {
		t.Errorf("Marathon 0.8 upstart job: %q", got)
	}
}

// bash -n and shellcheck pass on every shell script the bundle carries, and
// on the files the init scripts source.
func TestShellScripts(t *testing.T) {
	needTool(t, "bash", "bash")
	sc := needTool(t, "shellcheck", "shellcheck")
	p := examplePlan(t)
	n := 0
	for _, f := range p.Files {
		script := bytes.HasPrefix(f.Data, []byte("#!/bin/bash")) || bytes.HasPrefix(f.Data, []byte("#!/bin/sh"))
		sourced := strings.Contains(f.Path, "/etc/default/") || strings.HasSuffix(f.Path, "/etc/sysconfig/docker")
		if !script && !sourced {
			continue
		}
		n++
		fp := filepath.Join(t.TempDir(), path.Base(f.Path))
		if err := os.WriteFile(fp, f.Data, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", fp).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f.Path, err, out)
		}
		args := []string{"-s", "bash"}
		if sourced {
			// Variables for the init scripts, and the mesos cookbook's
			// `cat /etc/mesos/zk` as it writes it.
			args = append(args, "-e", "SC2034,SC2006,SC2148")
		}
		if out, err := exec.Command(sc, append(args, fp)...).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", f.Path, err, out)
		}
		if script && f.Mode != 0o755 && !strings.HasPrefix(f.Path, CookbooksDir) {
			t.Errorf("%s is a script of mode %o", f.Path, f.Mode)
		}
	}
	if n < 4 {
		t.Fatalf("only %d shell files checked", n)
	}
}

// The cron.d file is one root cron line running the installed bridge, as
// Mesosphere's install_cronjob writes it, not group/world-writable.
func TestCronFile(t *testing.T) {
	p := examplePlan(t)
	f := planFile(t, p, "clusters/mesos01/haproxy/cron.d/haproxy-marathon-bridge")
	fields := strings.Fields(string(f.Data))
	if strings.Count(string(f.Data), "\n") != 1 || len(fields) < 8 || strings.Join(fields[:6], " ") != "* * * * * root" || fields[6] != "/usr/local/bin/haproxy-marathon-bridge" {
		t.Fatalf("cron file %q", f.Data)
	}
	if f.Mode&0o022 != 0 {
		t.Fatalf("cron file mode %o", f.Mode)
	}
	recipe := string(planFile(t, p, cookbookPrefix(p)+"recipes/haproxy.rb").Data)
	i := strings.Index(recipe, "cookbook_file '/etc/cron.d/haproxy-marathon-bridge'")
	if i < 0 || !strings.Contains(recipe[i:i+200], "owner 'root'") || !strings.Contains(recipe[i:i+200], "mode '0644'") {
		t.Fatal("the haproxy recipe does not install the cron file root-owned 0644")
	}
}
