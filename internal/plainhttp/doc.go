// Package plainhttp is the project's one plain-HTTP policy: a server may be
// spoken to without TLS only when it is on a loopback host (localhost,
// 127.0.0.0/8, ::1) or its host is named by the user (--insecure-registry
// HOST or HOST:PORT; a name without a port allows every port of that host).
// A private address (RFC 1918, *.local) gets no exception: go-containerregistry's
// fallback to plain HTTP for those is refused. Registry pulls and pushes
// (images/registry) and the BDE client (out/bde, which names no hosts)
// decide through it.
package plainhttp
