package rpmdep

import "testing"

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Dep
	}{
		{"java", Dep{Name: "java"}},
		{" /bin/sh ", Dep{Name: "/bin/sh"}},
		{"zookeeper = 3.4.6", Dep{Name: "zookeeper", Flags: "EQ", Version: "3.4.6"}},
		{"glibc >= 1:2.12-1.el6", Dep{Name: "glibc", Flags: "GE", Epoch: "1", Version: "2.12", Release: "1.el6"}},
		{"a < 2", Dep{Name: "a", Flags: "LT", Version: "2"}},
		{"a ~ 2", Dep{Name: "a ~ 2"}}, // unknown operator: a plain name
	} {
		if got := Parse(tt.in); got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if tt.want.Flags != "" && Parse(tt.want.String()) != tt.want {
			t.Errorf("Parse(%q.String()) does not round-trip", tt.in)
		}
	}
}

func TestUnresolvedOverFacts(t *testing.T) {
	pkgs := []Package{
		{NEVRA: "mesos-0.22.0-1.x86_64", Provides: []Dep{{Name: "mesos", Flags: "EQ", Version: "0.22.0", Release: "1"}},
			Requires: []Dep{{Name: "zookeeper", Flags: "GE", Version: "3.4"}, {Name: "/bin/sh"}, {Name: "rpmlib(PayloadIsXz)"}, {Name: "(java or jre)"}}},
		{NEVRA: "zk-3.4.6-1.noarch", Provides: []Dep{{Name: "zookeeper", Flags: "EQ", Version: "3.4.6", Release: "1"}}, Files: []string{"/bin/sh"}},
	}
	if got := Unresolved(pkgs, []Dep{{Name: "jre"}}); len(got) != 0 {
		t.Errorf("closed set reported %v", got)
	}
	got := Unresolved(pkgs, nil)
	if len(got) != 1 || got[0].Requirement != "(java or jre)" || got[0].Package != "mesos-0.22.0-1.x86_64" {
		t.Errorf("without the baseline: %v, want the rich requirement unmet", got)
	}
	pkgs[1].Provides[0].Version = "3.3.0"
	if got := Unresolved(pkgs, []Dep{{Name: "jre"}}); len(got) != 1 || got[0].Requirement != "zookeeper >= 3.4" {
		t.Errorf("too old a provider: %v", got)
	}
}
