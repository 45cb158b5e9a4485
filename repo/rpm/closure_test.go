package rpm

import (
	"reflect"
	"testing"

	"github.com/bdebundle/bundle/internal/rpmdep"
)

func TestUnresolved(t *testing.T) {
	pkg := func(name, epoch, ver, rel string, provides, requires []Dep, files ...string) *Package {
		p := &Package{NEVRA: rpmdep.NEVRA{Name: name, Epoch: epoch, Version: ver, Release: rel, Arch: "noarch"}, Provides: provides, Requires: requires}
		for _, f := range files {
			p.Files = append(p.Files, File{Path: f})
		}
		return p
	}
	lib := pkg("lib", "2", "1.5", "3", []Dep{{Name: "lib", Flags: "EQ", Epoch: "2", Version: "1.5", Release: "3"}, {Name: "libapi"}}, nil, "/usr/lib/lib.so", "/usr/bin/libtool")
	tests := []struct {
		name     string
		requires []Dep
		baseline []Dep
		want     []string
	}{
		{"versioned ok", []Dep{{Name: "lib", Flags: "GE", Epoch: "2", Version: "1.0"}}, nil, nil},
		{"epoch too low", []Dep{{Name: "lib", Flags: "GE", Epoch: "3", Version: "1.0"}}, nil, []string{"lib >= 3:1.0"}},
		{"epoch defaults to 0", []Dep{{Name: "lib", Flags: "LT", Version: "9.0"}}, nil, []string{"lib < 9.0"}},
		{"exact with release", []Dep{{Name: "lib", Flags: "EQ", Epoch: "2", Version: "1.5", Release: "3"}}, nil, nil},
		{"exact without release", []Dep{{Name: "lib", Flags: "EQ", Epoch: "2", Version: "1.5"}}, nil, nil},
		{"wrong release", []Dep{{Name: "lib", Flags: "EQ", Epoch: "2", Version: "1.5", Release: "4"}}, nil, []string{"lib = 2:1.5-4"}},
		{"unversioned provide satisfies versioned require", []Dep{{Name: "libapi", Flags: "GE", Version: "7"}}, nil, nil},
		{"file from file list", []Dep{{Name: "/usr/lib/lib.so"}}, nil, nil},
		{"missing file", []Dep{{Name: "/bin/sh"}}, nil, []string{"/bin/sh"}},
		{"file from baseline", []Dep{{Name: "/bin/sh"}}, []Dep{{Name: "/bin/sh"}}, nil},
		{"baseline provide", []Dep{{Name: "glibc", Flags: "GE", Version: "2.17"}}, []Dep{{Name: "glibc", Flags: "EQ", Version: "2.28", Release: "1"}}, nil},
		{"baseline too old", []Dep{{Name: "glibc", Flags: "GE", Version: "2.17"}}, []Dep{{Name: "glibc", Flags: "EQ", Version: "2.12"}}, []string{"glibc >= 2.17"}},
		{"tilde", []Dep{{Name: "lib", Flags: "GT", Epoch: "2", Version: "1.5~rc1"}}, nil, nil},
		{"rich or", []Dep{{Name: "(nothing or lib >= 2:1)"}}, nil, nil},
		{"rich and", []Dep{{Name: "(nothing and lib)"}}, nil, []string{"(nothing and lib)"}},
		{"rich if", []Dep{{Name: "(nothing if absent)"}}, nil, nil},
		{"rich nested", []Dep{{Name: "((lib with libapi) or (x and y))"}}, nil, nil},
		{"several", []Dep{{Name: "a"}, {Name: "b", Flags: "LE", Version: "1"}}, nil, []string{"a", "b <= 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := pkg("app", "0", "1", "1", nil, tt.requires)
			var got []string
			for _, p := range rpmdep.Unresolved(DepPackages([]*Package{lib, app}), tt.baseline) {
				if p.Package != "app-1-1.noarch" {
					t.Errorf("problem names %q", p.Package)
				}
				got = append(got, p.Requirement)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNEVRA(t *testing.T) {
	p := &Package{NEVRA: rpmdep.NEVRA{Name: "beta-data", Epoch: "2", Version: "5.0", Release: "1", Arch: "x86_64"}}
	if got := p.NEVRA.String(); got != "beta-data-2:5.0-1.x86_64" {
		t.Errorf("NEVRA = %q", got)
	}
	p.Epoch = "0"
	if got := p.NEVRA.String(); got != "beta-data-5.0-1.x86_64" {
		t.Errorf("NEVRA = %q", got)
	}
}

func TestGroupByRequirement(t *testing.T) {
	pr := func(pkg, req string) rpmdep.Problem { return rpmdep.Problem{Package: pkg, Requirement: req} }
	tests := []struct {
		name string
		in   []rpmdep.Problem
		want []rpmdep.Unmet
	}{
		{"none", nil, []rpmdep.Unmet{}},
		{"one", []rpmdep.Problem{pr("a-1-1.noarch", "java")}, []rpmdep.Unmet{{Requirement: "java", Packages: []string{"a-1-1.noarch"}}}},
		{"one capability, many packages, sorted",
			[]rpmdep.Problem{pr("c-1-1.noarch", "java"), pr("a-1-1.noarch", "java"), pr("b-1-1.noarch", "java")},
			[]rpmdep.Unmet{{Requirement: "java", Packages: []string{"a-1-1.noarch", "b-1-1.noarch", "c-1-1.noarch"}}}},
		{"requirements sorted, packages per requirement",
			[]rpmdep.Problem{pr("a-1-1.noarch", "zlib"), pr("b-1-1.noarch", "/bin/sh"), pr("a-1-1.noarch", "/bin/sh")},
			[]rpmdep.Unmet{{Requirement: "/bin/sh", Packages: []string{"a-1-1.noarch", "b-1-1.noarch"}}, {Requirement: "zlib", Packages: []string{"a-1-1.noarch"}}}},
		{"a package requiring the same thing twice is named once",
			[]rpmdep.Problem{pr("a-1-1.noarch", "java"), pr("a-1-1.noarch", "java")},
			[]rpmdep.Unmet{{Requirement: "java", Packages: []string{"a-1-1.noarch"}}}},
		{"versioned requirements are distinct",
			[]rpmdep.Problem{pr("a-1-1.noarch", "lib >= 2"), pr("b-1-1.noarch", "lib >= 3")},
			[]rpmdep.Unmet{{Requirement: "lib >= 2", Packages: []string{"a-1-1.noarch"}}, {Requirement: "lib >= 3", Packages: []string{"b-1-1.noarch"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rpmdep.GroupByRequirement(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
