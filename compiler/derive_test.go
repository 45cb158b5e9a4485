package compiler

import (
	"maps"
	"strings"
	"testing"
)

func TestDerivedTemplates(t *testing.T) {
	const (
		fastGroup = `template        = vm_template.mesos-node
    attributes      = { rack = "r1" }`
		roleProp = `property "role" {`
		zk       = "zk://master-1.localdomain:2181,master-2.localdomain:2181,master-3.localdomain:2181/mesos"
	)
	type derived map[string]map[string]string // derived template → filled properties
	cases := []struct {
		name    string
		edits   []edit
		want    derived // derived templates of mesos-node
		groups  map[string]string
		summary string
		at      string
	}{
		{name: "example: one per group, filled from the group",
			want: derived{
				"mesos-node-mesos01-master": {"role": "zookeeper,mesos_master,mesos_marathon,mesos_chronos", "zookeeper": zk},
				"mesos-node-mesos01-fast":   {"role": "mesos_slave,mesos_docker", "storage_profile": "vsan", "zookeeper": zk},
				"mesos-node-mesos01-bulk":   {"role": "mesos_slave,mesos_docker", "storage_profile": "vmax", "zookeeper": zk},
			},
			groups: map[string]string{"master": "mesos-node-mesos01-master", "fast": "mesos-node-mesos01-fast", "bulk": "mesos-node-mesos01-bulk"}},
		{name: "explicit template_properties win",
			edits: []edit{
				{fastGroup, fastGroup + "\n    template_properties = { role = \"edge\", node_group = \"f\" }"},
				{roleProp, "property \"node_group\" {}\n\n  " + roleProp},
			},
			want: derived{
				"mesos-node-mesos01-master": {"role": "zookeeper,mesos_master,mesos_marathon,mesos_chronos", "node_group": "master", "zookeeper": zk},
				"mesos-node-mesos01-fast":   {"role": "edge", "node_group": "f", "storage_profile": "vsan", "zookeeper": zk},
				"mesos-node-mesos01-bulk":   {"role": "mesos_slave,mesos_docker", "node_group": "bulk", "storage_profile": "vmax", "zookeeper": zk},
			}},
		{name: "nothing to fill: the group uses the template",
			edits: []edit{
				{"property \"role\" {", "property \"x_role\" {"},
				{"property \"storage_profile\" {", "property \"x_storage_profile\" {"},
				{"property \"zookeeper\" {", "property \"x_zookeeper\" {"},
			},
			want:   derived{},
			groups: map[string]string{"master": "mesos-node", "fast": "mesos-node", "bulk": "mesos-node"}},
		{name: "sensitive values are not shown",
			edits: []edit{
				{fastGroup, fastGroup + "\n    template_properties = { role = var.stats_password }"},
			},
			want: derived{
				"mesos-node-mesos01-master": {"role": "zookeeper,mesos_master,mesos_marathon,mesos_chronos", "zookeeper": zk},
				"mesos-node-mesos01-fast":   {"role": "(sensitive)", "storage_profile": "vsan", "zookeeper": zk},
				"mesos-node-mesos01-bulk":   {"role": "mesos_slave,mesos_docker", "storage_profile": "vmax", "zookeeper": zk},
			}},
		{name: "unknown property",
			edits:   []edit{{fastGroup, fastGroup + "\n    template_properties = { rol = \"edge\" }"}},
			summary: "Invalid template property", at: `template_properties = { rol = "edge" }`},
		{name: "value of the wrong type",
			edits: []edit{
				{fastGroup, fastGroup + "\n    template_properties = { slots = \"many\" }"},
				{roleProp, "property \"slots\" {\n    type = \"int\"\n  }\n\n  " + roleProp},
			},
			summary: "Invalid template property", at: `template_properties = { slots = "many" }`},
		{name: "derived name taken by another template",
			edits:   []edit{{`vm_template "mesos-node" {`, "vm_template \"mesos-node-mesos01-fast\" {\n  guest_os  = \"centos64Guest\"\n  cpu       = 1\n  memory_mb = 512\n}\n\nvm_template \"mesos-node\" {"}},
			summary: "Duplicate template name", at: `node_group "fast" {`},
		{name: "derived name too long",
			edits:   []edit{{`node_group "fast" {`, `node_group "fast` + strings.Repeat("x", 70) + `" {`}},
			summary: "Derived template name too long", at: `node_group "fastx`},
	}
	base := exampleHCL(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := applyEdits(t, base, tc.edits)
			p, diags, _ := compileText(t, text, nil)
			errs := errorsOf(diags)
			if tc.summary != "" {
				line := strings.Count(text[:strings.Index(text, tc.at)], "\n") + 1
				if !hasDiag(errs, tc.summary, line) {
					t.Errorf("want %q at site.hcl:%d; got:%s", tc.summary, line, diagText(diags))
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("unexpected errors:%s", diagText(errs))
			}
			var tp *TemplatePlan
			for _, x := range p.Templates {
				if x.Name == "mesos-node" {
					tp = x
				}
			}
			if tp == nil {
				t.Fatal("no template mesos-node in the plan")
			}
			got := derived{}
			for _, d := range tp.Derived {
				got[d.Name] = d.Properties
				if d.OVF.Name != d.Name || len(d.OVF.Disks) != len(tp.OVF.Disks) {
					t.Errorf("derived %s: OVF name %q, %d disks", d.Name, d.OVF.Name, len(d.OVF.Disks))
				}
				for _, pr := range d.OVF.Properties {
					if v, ok := d.Properties[pr.Key]; ok && v == "(sensitive)" {
						if pr.Default == v || pr.Default == "" {
							t.Errorf("derived %s: property %s default %q, want the variable's value", d.Name, pr.Key, pr.Default)
						}
					} else if ok && pr.Default != v {
						t.Errorf("derived %s: property %s default %q, want %q", d.Name, pr.Key, pr.Default, v)
					}
				}
			}
			if !maps.EqualFunc(got, tc.want, maps.Equal) {
				t.Errorf("derived templates:\n got %v\nwant %v", got, tc.want)
			}
			for _, cl := range p.Clusters {
				for _, g := range cl.NodeGroups {
					if want, ok := tc.groups[g.Name]; ok && g.Template != want {
						t.Errorf("node group %s uses template %q, want %q", g.Name, g.Template, want)
					}
				}
			}
		})
	}
}
