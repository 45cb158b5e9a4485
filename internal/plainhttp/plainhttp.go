package plainhttp

import (
	"net"
	"slices"
	"strings"
)

// Allowed reports whether host (host[:port], an IPv6 address in brackets)
// may be spoken to over plain HTTP: a loopback host, or one named in
// insecure with or without its port.
func Allowed(host string, insecure []string) bool {
	return Listed(host, insecure) || Loopback(hostname(host))
}

// Listed reports whether host (host[:port]) is named in insecure, with its
// port or without.
func Listed(host string, insecure []string) bool {
	host = strings.TrimSuffix(host, "/")
	if slices.Contains(insecure, host) {
		return true
	}
	h, _, err := net.SplitHostPort(host)
	return err == nil && slices.Contains(insecure, h)
}

// Loopback reports whether hostname (no port) is localhost or a loopback
// address.
func Loopback(hostname string) bool {
	hostname = strings.TrimSuffix(strings.TrimPrefix(hostname, "["), "]")
	if hostname == "localhost" {
		return true
	}
	ip := net.ParseIP(hostname)
	return ip != nil && ip.IsLoopback()
}

func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}
