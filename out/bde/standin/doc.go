// Package standin is a loopback stand-in of the part of BDE's REST API
// (serengeti-ws 2.1–2.3 RestResource and Spring Security's form login)
// that `bundle deploy` and `bundle status` use, for tests: no real BDE
// management server can run here. It speaks the documented wire format
// (camelCase JSON as Jackson binds it, 202 with a task Location for long
// operations, BddErrorMessage bodies) and serves GET /clusters, GET
// /cluster/{name}/spec, POST /clusters, PUT /cluster/{name}/config, PUT
// /cluster/{name}/nodegroup/{group}/instancenum (a bare integer), PUT
// /cluster/{name}/action?state=resume and GET /task/{id}.
//
// It refuses what BDE refuses: a call without a session (401), a wrong
// password (401), an unknown cluster or node group (404 BDD.NOT_FOUND), a
// ClusterCreate or NodeGroupCreate field Jackson has no property for (400,
// FAIL_ON_UNKNOWN_PROPERTIES), a cluster name already taken (400
// BDD.ALREADY_EXISTS), a create with no node group, a config or resize of
// a cluster that is not in a state that allows it (400), a body that is
// not JSON (400), and it ends a task FAILED when told to (SetFail), leaving
// the cluster in PROVISION_ERROR (a create, which resume finishes) or
// CONFIGURE_ERROR (a config). It also refuses a spec whose distro differs
// from the one the cluster was created on (400 BDD.INVALID_PARAMETER):
// the name is fixed at creation, so a client that sends another distro
// would believe it moved a cluster that did not move.
//
// Where it has to assume: after a config it reports the spec's
// distroVersion and configuration as the cluster's (GET /clusters, GET
// /cluster/{name}/spec). It records every call (method, path, query,
// status, body — the login's form aside, which holds the password) in
// order. It is not a BDE: no VM is cloned and no Chef runs.
package standin
