package compiler

import (
	"regexp"
	"strconv"
	"strings"
)

// Roles are the BDE roles of the Mesos distro, as the serengeti-pantry mesos
// cookbook and the BDE fling define them.
var Roles = []string{"zookeeper", "mesos_master", "mesos_slave", "mesos_docker", "mesos_chronos", "mesos_marathon"}

var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+~^-]*$`)
var dottedRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*([.-][0-9A-Za-z.]+)?$`)

// validVersion reports whether v is an rpm-style version string.
func validVersion(v string) bool { return versionRE.MatchString(v) }

// validDotted reports whether v is a dotted numeric version like 0.22.0.
func validDotted(v string) bool { return dottedRE.MatchString(v) }

// versionAtLeast compares a dotted version against a minimum, numerically
// by component; missing components count as 0.
func versionAtLeast(v, min string) bool {
	a, b := parts(v), parts(min)
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return x > y
		}
	}
	return true
}

func parts(v string) []int {
	v, _, _ = strings.Cut(v, "-")
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

// attrTextRE is Mesos' text grammar for attribute names and values.
var attrTextRE = regexp.MustCompile(`^[a-zA-Z0-9_/.-]+$`)

// appIDRE matches a Marathon app id: /-separated segments.
var appIDRE = regexp.MustCompile(`^(/(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9]))+$`)
