package compiler

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestManifestMerge: the site's manifest (the upgrade block) gives the
// entries the release keeps as they are, byte for byte (fields the bundle
// does not know included); the entry a distro block names is updated in
// place, not duplicated.
func TestManifestMerge(t *testing.T) {
	text := strings.Replace(exampleHCL(t), `manifest = "site/manifest"`, `manifest = "old/manifest"`, 1)
	old := `[{"name":"mesos","vendor":"MESOS","version":"0.21.0","packages":[{"roles":["mesos_master"],"package_repos":["https://bde.localdomain/yum/mesos.repo"]}]},
	{"name":"mesos-0.20","vendor":"MESOS","version":"0.20.1","packages":[{"roles":["mesos_master","mesos_slave"],"package_repos":["https://bde.localdomain/yum/mesos-0.20.repo"]}]},
	{"name":"cdh4","vendor":"CDH","version":"4.7.0","hveSupported":true,"extra":{"a":1},"packages":[{"roles":["hadoop_namenode"],"tarball":"cdh/4.7.0/cdh.tar.gz"}]}]`
	facts := exampleFacts()
	facts.Manifests["old/manifest"] = []byte(old)
	p, diags, _ := compileText(t, text, facts)
	if errs := errorsOf(diags); len(errs) > 0 {
		t.Fatalf("unexpected errors:%s", diagText(errs))
	}
	var got []map[string]any
	for _, f := range p.Files {
		if f.Path == manifestPath {
			if err := json.Unmarshal(f.Data, &got); err != nil {
				t.Fatal(err)
			}
		}
	}
	var names []string
	for _, e := range got {
		names = append(names, fmt.Sprint(e["name"], "@", e["version"]))
	}
	if want := []string{"cdh4@4.7.0", "mesos@0.22.0", "mesos-0.20@0.20.1", "mesos-previous@0.21.0"}; !reflect.DeepEqual(names, want) {
		t.Errorf("manifest entries %v, want %v", names, want)
	}
	if !reflect.DeepEqual(got[0]["extra"], map[string]any{"a": 1.0}) || got[0]["hveSupported"] != true {
		t.Errorf("kept entry changed: %v", got[0])
	}
	if repos := fmt.Sprint(got[2]["packages"]); !strings.Contains(repos, "https://bde.localdomain/yum/mesos-0.20.repo") {
		t.Errorf("kept entry changed: %v", got[2])
	}
	for _, d := range p.Distros {
		if d.Name == "mesos" && d.Previous != "0.21.0" {
			t.Errorf("distro mesos: previous %q, want 0.21.0", d.Previous)
		}
	}
	if c := p.Clusters[0]; !c.Moves || c.Running == nil || c.Running.Version != "0.21.0" {
		t.Errorf("cluster %s: moves %v, running %+v; want a move from 0.21.0", c.Name, c.Moves, c.Running)
	}
}
