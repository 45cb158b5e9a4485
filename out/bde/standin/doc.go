// Package standin is a loopback stand-in of the part of BDE's REST API
// (serengeti-ws RestResource and Spring Security's form login) that `bundle
// deploy` uses, for tests: no real BDE management server can run here. It
// speaks the documented wire format and refuses what BDE refuses: a call
// without a session (401), a wrong password (401), an unknown cluster (404
// BDD.NOT_FOUND), a cluster that is not RUNNING, CONFIGURE_ERROR or
// SERVICE_STOPPED (400, ClusterManager.configCluster), a body that is not
// JSON (400). It also refuses a spec whose distro differs from the one the
// cluster was created on (400 BDD.INVALID_PARAMETER): real BDE ignores the
// distro fields on config (the name is fixed at creation), so a client
// that sends another distro would believe it moved a cluster that did not
// move; the stand-in makes that a failure. It is not a BDE: no Chef runs.
package standin
