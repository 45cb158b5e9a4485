package demoinputs

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/google/rpmpack"
)

// Pkg describes one stand-in RPM.
type Pkg struct {
	Name, Version, Release, Arch, Summary, URL, License, Group string
	Epoch                                                      uint32 // rpmpack.NoEpoch for none
	Provides, Requires, Conflicts, Obsoletes                   []string
	Files                                                      map[string]string // path -> content; paths ending in / are dirs
	Config                                                     []string          // paths that are %config(noreplace)
	ConfigEtc                                                  bool              // every file under /etc is %config(noreplace), as fpm --config-files etc/ makes it
	Postin                                                     string
	PayloadKB                                                  int // extra deterministic payload, to make sizes realistic
}

// FileName is the conventional RPM file name.
func (p Pkg) FileName() string {
	return fmt.Sprintf("%s-%s-%s.%s.rpm", p.Name, p.Version, p.Release, p.Arch)
}

// Mesos returns the stand-in packages of a Mesos release (0.21.0 or 0.22.0
// with Marathon, Chronos, ZooKeeper, Docker and HAProxy), laid out like the
// Mesosphere el6 repository of early 2015. Where each fact comes from:
//
//   - mesos: mesosphere/mesos-deb-packaging's build_mesos (a245843 for
//     0.21.0, f46d9d3 for 0.22.0): fpm --config-files etc/, so every /etc
//     file is %config(noreplace); /etc/default/mesos{,-master,-slave} with
//     the content of its default/ files, /etc/mesos/zk,
//     /etc/mesos-master/{work_dir,quorum}, the upstart jobs
//     /etc/init/mesos-{master,slave}.conf and /usr/bin/mesos-init-wrapper;
//     the daemons under the prefix the wrapper of that revision execs
//     (/usr/local/sbin for 0.21.0, /usr/sbin for 0.22.0). The wrapper here
//     is a stand-in script, not Mesosphere's.
//   - marathon: /usr/local/bin/marathon before 0.8.0 and /usr/bin/marathon
//     from 0.8.0, with the upstart job that execs it.
//   - chronos 2.3.0-0.1.20141121000021: chronos-pkg before e7138c6
//     (f22c398): PREFIX usr/local, fpm --config-files etc/,
//     /etc/init/chronos.conf exec /usr/local/bin/chronos,
//     /etc/chronos/conf/http_port 4400. Builds after 2015-01-13 use /usr.
//   - docker-io 1.3.2-2.el6 (EPEL 6), haproxy 1.5.2-2.el6 (CentOS 6.6):
//     their configuration files %config(noreplace).
func Mesos(version string) []Pkg {
	prefix := "/usr"
	marathon, marathonRel, marathonPrefix := "0.8.0", "1.0.146.el6", "/usr"
	if version < "0.22.0" {
		prefix = "/usr/local"
		marathon, marathonRel, marathonPrefix = "0.7.5", "1.0.el6", "/usr/local"
	}
	upstart := func(desc, exec string) string {
		return "description \"" + desc + "\"\n\nstart on runlevel [2345]\nstop on runlevel [!2345]\n\nrespawn\nrespawn limit 10 5\n\nexec " + exec + "\n"
	}
	return []Pkg{
		{Name: "mesos", Version: version, Release: "1.0.centos65", Arch: "x86_64", Summary: "Cluster resource manager with efficient resource isolation",
			URL: "https://mesos.apache.org/", License: "Apache-2.0", Group: "Applications/System",
			Provides: []string{"mesos = " + version + "-1.0.centos65", "libmesos-" + version + ".so()(64bit)"},
			Requires: []string{"cyrus-sasl-md5", "subversion", "libcurl", "apr", "apr-util", "zlib", "/bin/sh", "chkconfig", "initscripts"},
			Files: map[string]string{
				prefix + "/sbin/mesos-master":               "#!/bin/sh\nexec " + prefix + "/libexec/mesos/mesos-master \"$@\"\n",
				prefix + "/sbin/mesos-slave":                "#!/bin/sh\nexec " + prefix + "/libexec/mesos/mesos-slave \"$@\"\n",
				"/usr/bin/mesos-init-wrapper":               standInWrapper,
				prefix + "/lib/libmesos-" + version + ".so": "",
				"/usr/share/java/mesos-" + version + ".jar": "",
				"/etc/mesos/zk":                             "zk://localhost:2181/mesos\n",
				"/etc/default/mesos":                        "LOGS=/var/log/mesos\nULIMIT=\"-n 8192\"\n",
				"/etc/default/mesos-master":                 "PORT=5050\nZK=`cat /etc/mesos/zk`\n",
				"/etc/default/mesos-slave":                  "MASTER=`cat /etc/mesos/zk`\n",
				"/etc/mesos-master/quorum":                  "1\n",
				"/etc/mesos-master/work_dir":                "/var/lib/mesos\n",
				"/etc/init/mesos-master.conf":               "description \"mesos master\"\n\nstart on stopped rc RUNLEVEL=[2345]\nrespawn\n\nexec /usr/bin/mesos-init-wrapper master\n",
				"/etc/init/mesos-slave.conf":                "description \"mesos slave\"\n\nstart on stopped rc RUNLEVEL=[2345]\nrespawn\n\nexec /usr/bin/mesos-init-wrapper slave\n",
				"/etc/mesos-slave/":                         "",
				"/var/lib/mesos/":                           "",
				"/var/log/mesos/":                           "",
			},
			ConfigEtc: true, PayloadKB: 512},
		{Name: "marathon", Version: marathon, Release: marathonRel, Arch: "x86_64", Summary: "Cluster-wide init and control system for services on Mesos",
			URL: "https://mesosphere.github.io/marathon/", License: "Apache-2.0", Group: "Applications/System",
			Requires: []string{"mesos >= 0.20.0", "java", "/bin/sh"},
			Files: map[string]string{
				marathonPrefix + "/bin/marathon": "#!/bin/sh\nexec java -jar /usr/share/java/marathon.jar \"$@\"\n",
				"/usr/share/java/marathon.jar":   "",
				"/etc/init/marathon.conf":        upstart("Marathon scheduler for Mesos", marathonPrefix+"/bin/marathon"),
			},
			ConfigEtc: true, PayloadKB: 256},
		{Name: "chronos", Version: "2.3.0", Release: "0.1.20141121000021", Arch: "x86_64", Summary: "Fault tolerant job scheduler for Mesos which handles dependencies and ISO8601 based schedules",
			URL: "https://github.com/mesosphere/chronos", License: "Apache-2.0", Group: "default",
			Requires: []string{"coreutils", "java >= 1.6"},
			Files: map[string]string{
				// The runnable jar: a shell stub with the jar appended.
				"/usr/local/bin/chronos":      "#!/bin/sh\nexec java -jar \"$0\" \"$@\"\n",
				"/etc/init/chronos.conf":      upstart("Chronos scheduler for Mesos", "/usr/local/bin/chronos"),
				"/etc/chronos/conf/http_port": "4400\n",
			},
			ConfigEtc: true, PayloadKB: 128},
		{Name: "mesosphere-zookeeper", Version: "3.4.6", Release: "0.1.20141204175332.centos6", Arch: "x86_64", Summary: "High-performance coordination service for distributed applications",
			URL: "https://zookeeper.apache.org/", License: "Apache-2.0", Group: "Applications/Databases",
			Provides: []string{"zookeeper = 3.4.6"},
			Requires: []string{"java", "/bin/bash", "shadow-utils"},
			Files: map[string]string{
				"/opt/mesosphere/zookeeper/bin/zkServer.sh": "#!/bin/bash\necho zookeeper\n",
				"/etc/zookeeper/conf/zoo.cfg":               "tickTime=2000\ndataDir=/var/lib/zookeeper\nclientPort=2181\n",
				"/var/lib/zookeeper/":                       "",
			},
			ConfigEtc: true, PayloadKB: 64},
		{Name: "docker-io", Version: DockerVersion, Release: "2.el6", Arch: "x86_64", Summary: "Automates deployment of containerized applications",
			URL: "https://www.docker.com", License: "ASL 2.0", Group: "System Environment/Base",
			Provides: []string{"docker = " + DockerVersion + "-2.el6", "docker-io = " + DockerVersion + "-2.el6"},
			Requires: []string{"device-mapper-libs >= 1.02.63", "lxc", "iptables", "xz", "libcgroup", "git", "procps", "/bin/sh"},
			Files: map[string]string{
				"/usr/bin/docker":         "#!/bin/sh\necho docker\n",
				"/etc/sysconfig/docker":   "other_args=\"\"\n",
				"/etc/rc.d/init.d/docker": "#!/bin/sh\n# chkconfig: 2345 95 95\n",
			},
			Config: []string{"/etc/sysconfig/docker"}, PayloadKB: 256},
		{Name: "haproxy", Version: "1.5.2", Release: "2.el6", Arch: "x86_64", Summary: "TCP/HTTP proxy and load balancer for high availability environments",
			URL: "http://www.haproxy.org/", License: "GPLv2+", Group: "System Environment/Daemons",
			Requires: []string{"/bin/sh", "chkconfig", "initscripts", "shadow-utils", "openssl", "zlib"},
			Files: map[string]string{
				"/usr/sbin/haproxy":        "#!/bin/sh\necho haproxy\n",
				"/etc/haproxy/haproxy.cfg": "global\n  daemon\n",
				"/etc/rc.d/init.d/haproxy": "#!/bin/sh\n# chkconfig: - 85 15\n",
			},
			Config: []string{"/etc/haproxy/haproxy.cfg"}, Postin: "/sbin/chkconfig --add haproxy\n", PayloadKB: 64},
	}
}

// DockerVersion is the version of the stand-in docker-io: EPEL 6's of early
// 2015, which speaks only the v1 registry protocol.
const DockerVersion = "1.3.2"

// WriteRPM writes p as an RPM file in dir, with every timestamp at epoch.
func WriteRPM(dir string, p Pkg, epoch int64) (string, error) {
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name: p.Name, Version: p.Version, Release: p.Release, Arch: p.Arch, OS: "linux",
		Summary: p.Summary, Description: p.Summary + ".", URL: p.URL, Licence: p.License, Group: p.Group,
		Vendor: "Mesosphere", Packager: "Mesosphere <support@mesosphere.io>", BuildHost: "build.mesosphere.io",
		Epoch: p.Epoch, BuildTime: time.Unix(epoch, 0).UTC(), Compressor: "gzip",
		Provides: relations(p.Provides), Requires: relations(p.Requires),
		Conflicts: relations(p.Conflicts), Obsoletes: relations(p.Obsoletes),
	})
	if err != nil {
		return "", fmt.Errorf("describing %s: %w", p.FileName(), err)
	}
	config := map[string]bool{}
	for _, c := range p.Config {
		config[c] = true
	}
	for _, path := range slices.Sorted(maps.Keys(p.Files)) {
		body := p.Files[path]
		f := rpmpack.RPMFile{Name: strings.TrimSuffix(path, "/"), Body: []byte(body), Mode: 0o100644, Owner: "root", Group: "root", MTime: uint32(epoch)}
		switch {
		case strings.HasSuffix(path, "/"):
			f.Mode, f.Body = 0o40755, nil
		case strings.HasPrefix(body, "#!"):
			f.Mode = 0o100755
		}
		if config[path] || p.ConfigEtc && strings.HasPrefix(path, "/etc/") && !strings.HasSuffix(path, "/") {
			f.Type = rpmpack.ConfigFile | rpmpack.NoReplaceFile
		}
		r.AddFile(f)
	}
	if p.PayloadKB > 0 {
		r.AddFile(rpmpack.RPMFile{Name: "/usr/share/doc/" + p.Name + "-" + p.Version + "/payload.bin", Body: filler(p.Name, p.PayloadKB<<10), Mode: 0o100644, Owner: "root", Group: "root", MTime: uint32(epoch)})
	}
	if p.Postin != "" {
		r.AddPostin(p.Postin)
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return "", fmt.Errorf("writing %s: %w", p.FileName(), err)
	}
	path := filepath.Join(dir, p.FileName())
	return path, writeIfChanged(path, buf.Bytes())
}

func relations(specs []string) rpmpack.Relations {
	var rs rpmpack.Relations
	for _, s := range specs {
		if err := rs.Set(s); err != nil {
			panic(fmt.Sprintf("bad relation %q: %v", s, err)) // programming error in the tables above
		}
	}
	return rs
}

// filler is deterministic, poorly compressible bytes (an xorshift stream seeded by name).
func filler(seed string, n int) []byte {
	var x uint64 = 0x9E3779B97F4A7C15
	for _, c := range seed {
		x = x*31 + uint64(c)
	}
	b := make([]byte, n)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// writeIfChanged writes data to path through a temporary file, leaving an
// identical existing file (and its mtime) alone.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfs.WriteFile(path, data, 0o644)
}

// standInWrapper stands in for Mesosphere's mesos-init-wrapper, which is
// not redistributed here: the node simulation test runs the real one.
const standInWrapper = `#!/bin/bash
# Stand-in for Mesosphere's mesos-init-wrapper (mesos-deb-packaging): the
# demo's packages are not meant to run Mesos.
echo "mesos-init-wrapper stand-in: $*" >&2
exit 1
`
