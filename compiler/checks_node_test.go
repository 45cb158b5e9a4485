package compiler

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// Definitions whose versions, packages and settings cannot come up
// together are refused at validate, at the attribute that asks for it,
// naming the package and version that decide it.
func TestNodeBadInput(t *testing.T) {
	example := exampleHCL(t)
	const bulk = "    attributes      = { rack = \"r2\" }\n"
	if !strings.Contains(example, bulk) {
		t.Fatal("the example's bulk group changed")
	}
	withBulk := func(text, attr string) string {
		return strings.Replace(text, bulk, bulk+"    "+attr+"\n", 1)
	}
	previous := strings.Replace(example, "distro   = distro.mesos\n  marathon = \"0.8.0\"", "distro   = distro.mesos-previous\n  marathon = \"0.7.5\"", 1)
	// A cluster on the kept version, not the running one the example moves.
	previous = strings.Replace(previous, "running {\n    distro  = \"mesos\"\n    version = \"0.21.0\"\n  }", "", 1)
	addFile := func(name, file string) func(*Facts) {
		return func(f *Facts) {
			for _, pkgs := range f.Packages {
				for i := range pkgs {
					if pkgs[i].Name == name {
						pkgs[i].Files = append(pkgs[i].Files, file)
					}
				}
			}
		}
	}
	for _, tc := range []struct {
		name, text string
		mutate     func(*Facts)
		// summary and what the detail must name; "" for no error.
		summary string
		detail  []string
		// the text at the error's position
		at string
	}{
		{"flag 0.22 removed", withBulk(example, `mesos_slave_flags = { checkpoint = "true" }`), nil,
			"Unknown Mesos flag", []string{"--checkpoint", "Mesos 0.22.0", "mesos-0.22.0-1.0.centos65.x86_64", "removed"}, "mesos_slave_flags"},
		{"flag 0.21 has", withBulk(previous, `mesos_slave_flags = { checkpoint = "true" }`), nil, "", nil, ""},
		{"flag 0.21 lacks", withBulk(previous, `mesos_slave_flags = { docker_stop_timeout = "30secs" }`), nil,
			"Unknown Mesos flag", []string{"--docker_stop_timeout", "Mesos 0.21.0", "mesos-0.21.0-1.0.centos65.x86_64"}, "mesos_slave_flags"},
		{"a flag the bundle gives", withBulk(example, `mesos_slave_flags = { isolation = "posix/cpu" }`), nil,
			"Mesos flag given twice", []string{"--isolation"}, "mesos_slave_flags"},
		{"a value Mesos does not parse", withBulk(example, `mesos_slave_flags = { gc_delay = "2 days" }`), nil,
			"Invalid Mesos flag value", []string{"--gc_delay", "duration"}, "mesos_slave_flags"},
		{"a flag name that is no file name", withBulk(example, `mesos_slave_flags = { "../x" = "1" }`), nil,
			"Invalid Mesos flag name", []string{"../x"}, "mesos_slave_flags"},
		{"master flags on a slave", withBulk(example, `mesos_master_flags = { offer_timeout = "30secs" }`), nil,
			"Flags without the daemon", []string{"mesos_master"}, "mesos_master_flags"},
		{"a flag file the package ships", example, addFile("mesos", "/etc/mesos-slave/checkpoint"),
			"Unknown Mesos flag", []string{"--checkpoint", "/etc/mesos-slave/checkpoint of mesos-0.22.0-1.0.centos65.x86_64"}, "roles"},
		{"an init job with no program", example, setFiles("chronos", "/etc/init/chronos.conf", "/usr/share/java/chronos.jar"),
			"Program in no package", []string{"chronos.conf", "chronos-2.3.0-0.1.20141121000021.x86_64", "/bin/chronos"}, "roles"},
		{"a Mesos without its daemon", example, setFiles("mesos", "/usr/bin/mesos-init-wrapper", "/usr/sbin/mesos-master"),
			"Program in no package", []string{"mesos-slave", "mesos-0.22.0-1.0.centos65.x86_64"}, "roles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := compileFacts(t, tc.text, tc.mutate)
			errs := errorsOf(diags)
			if tc.summary == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors:%s", diagText(errs))
				}
				return
			}
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			var d *hcl.Diagnostic
			for _, e := range errs {
				if e.Summary == tc.summary && d == nil {
					d = e
				}
			}
			if d == nil {
				t.Fatalf("errors:%s\nwant %q", diagText(errs), tc.summary)
			}
			for _, s := range tc.detail {
				if !strings.Contains(d.Detail, s) {
					t.Errorf("the detail %q does not name %q", d.Detail, s)
				}
			}
			if d.Subject == nil || d.Subject.Start.Line == 0 || d.Subject.Start.Column == 0 {
				t.Fatalf("no file:line:col: %v", d.Subject)
			}
			line := strings.Split(tc.text, "\n")[d.Subject.Start.Line-1]
			if !strings.Contains(line[d.Subject.Start.Column-1:], tc.at) {
				t.Errorf("the error is at %s, line %q, not at %s", d.Subject, line, tc.at)
			}
		})
	}
}

// A Mesos release whose flags the compiler does not know is a warning,
// not a guess.
func TestMesosFlagsUnknownRelease(t *testing.T) {
	_, diags := compileFacts(t, exampleHCL(t), func(f *Facts) {
		for _, pkgs := range f.Packages {
			for i := range pkgs {
				if pkgs[i].Name == "mesos" {
					pkgs[i].Version = "0.23.0"
				}
			}
		}
	})
	found := false
	for _, d := range diags {
		found = found || d.Summary == "Mesos flags not checked" && strings.Contains(d.Detail, "0.23.0")
	}
	if !found {
		t.Fatalf("no warning:%s", diagText(diags))
	}
}

// Every Mesos flag the example gives each daemon, over all the wrapper
// reads, is a flag of the release and comes once; nothing in
// /etc/default/mesos* is left unread.
func TestWrapperFlagsOnce(t *testing.T) {
	p := examplePlan(t)
	for _, f := range p.Files {
		if !strings.Contains(f.Path, "/etc/default/mesos") {
			continue
		}
		daemons := MesosDaemons
		if rest, ok := strings.CutPrefix(f.Path[strings.LastIndex(f.Path, "/")+1:], "mesos-"); ok {
			daemons = []string{rest}
		}
		for _, l := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
			name, _, _ := strings.Cut(l, "=")
			read := false
			for _, d := range daemons {
				read = read || wrapperReads(d, name)
			}
			if !read {
				t.Errorf("%s sets %s, which mesos-init-wrapper does not read", f.Path, name)
			}
		}
	}
}
