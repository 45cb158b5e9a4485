// Package haproxyjudge builds HAProxy from a release source tarball (the
// version a site's nodes run, 1.5.2 for CentOS 6) and runs its configuration
// check, for tests that judge the haproxy.cfg files the bundle and the
// haproxy-marathon-bridge write. The build is cached under the user's cache
// directory, keyed by the tarball's sha256 and the build line. HAProxy
// resolves server host names while it parses, so Check runs `haproxy -c` in
// a private mount namespace whose /etc/hosts maps the configuration's host
// names to loopback. Only tests import it.
package haproxyjudge
