// Package bde is a client of the REST API of VMware Big Data Extensions'
// management server (serengeti-ws): the form login of Spring Security
// (POST /serengeti/j_spring_security_check with j_username and j_password,
// answered with a JSESSIONID cookie or 401), `cluster config`
// (PUT /serengeti/api/cluster/{name}/config with the cluster spec,
// answered 202 with Location: …/serengeti/api/task/{id}), the task poll
// (GET /serengeti/api/task/{id} until COMPLETED, FAILED, ABANDONED or
// STOPPED, as the BDE CLI's RestClient does) and the logout; the clusters
// calls (GET /clusters, GET /cluster/{name}?details=true, GET
// /cluster/{name}/spec, POST /clusters, PUT …/nodegroup/{group}/instancenum
// with a bare integer, PUT …/action?state=resume) are in clusters.go.
// ClusterRead has the JSON names of serengeti-ws's ClusterRead (no distro
// version: BDE reports it nowhere). BDE answers a refusal whose error id
// has no status of its own 500 with that id; APIError.ServerFault tells
// those from faults of the server.
//
// The password is sent only in the login form and never appears in an
// error or a log record. The subpackage standin is a loopback stand-in of
// that API for tests (no real BDE can run here).
package bde
