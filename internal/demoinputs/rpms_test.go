package demoinputs

import (
	"os/exec"
	"strings"
	"testing"
)

// The stand-in RPMs, read back by the real rpm, are laid out as
// Mesosphere's: every /etc file of mesos, marathon and chronos is
// %config(noreplace) (fpm --config-files etc/), the daemons are under the
// prefix the wrapper of that release execs, Chronos 2.3.0's 2014 build
// under /usr/local, and docker-io is of the stated version.
func TestStandInLayout(t *testing.T) {
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Fatalf("rpm is needed by this test (apt-get install rpm): %v", err)
	}
	for _, tc := range []struct {
		version string
		files   []string
	}{
		{"0.21.0", []string{"/usr/local/sbin/mesos-master", "/usr/local/sbin/mesos-slave", "/usr/local/bin/marathon", "/usr/local/bin/chronos"}},
		{"0.22.0", []string{"/usr/sbin/mesos-master", "/usr/sbin/mesos-slave", "/usr/bin/marathon", "/usr/local/bin/chronos"}},
	} {
		dir := t.TempDir()
		all := map[string]string{}
		for _, p := range Mesos(tc.version) {
			path, err := WriteRPM(dir, p, Epoch)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("rpm", "-qp", "--qf", "[%{FILENAMES}\t%{FILEFLAGS:fflags}\t%{FILEMODES:perms}\n]", path).Output()
			if err != nil {
				t.Fatalf("rpm -qp %s: %v", path, err)
			}
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(l, "\t")
				all[f[0]] = f[1] + " " + f[2]
				fpm := p.Name == "mesos" || p.Name == "marathon" || p.Name == "chronos"
				if fpm && strings.HasPrefix(f[0], "/etc/") && !strings.HasPrefix(f[2], "d") && f[1] != "cn" {
					t.Errorf("%s: %s has flags %q, want %%config(noreplace) (cn)", p.FileName(), f[0], f[1])
				}
			}
			if p.Name == "docker-io" && p.Version != DockerVersion {
				t.Errorf("docker-io %s, want %s", p.Version, DockerVersion)
			}
		}
		for _, f := range append(tc.files, "/usr/bin/mesos-init-wrapper", "/etc/init/mesos-master.conf", "/etc/init/mesos-slave.conf", "/etc/mesos-master/quorum", "/etc/mesos-master/work_dir", "/etc/default/mesos-slave", "/etc/init/chronos.conf") {
			attrs, ok := all[f]
			if !ok {
				t.Errorf("Mesos %s: no package ships %s", tc.version, f)
			} else if strings.Contains(f, "bin/") && !strings.HasPrefix(strings.Fields(attrs)[len(strings.Fields(attrs))-1], "-rwx") {
				t.Errorf("Mesos %s: %s is not executable: %s", tc.version, f, attrs)
			}
		}
		for _, f := range []string{"/usr/bin/chronos", "/etc/mesos-slave/isolation"} {
			if _, ok := all[f]; ok {
				t.Errorf("Mesos %s: a package ships %s", tc.version, f)
			}
		}
	}
}
