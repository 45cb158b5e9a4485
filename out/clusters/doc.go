// Package clusters is the clusters step of a deploy (a site.Step): it
// brings the clusters BDE manages to what the bundle's cluster specs
// (clusters/<name>/spec.json, the JSON the BDE CLI POSTs for `cluster
// create --specFile`) say, through BDE's REST API (package out/bde).
//
// Plan logs in and only reads: GET /clusters for what exists (distro,
// status, node groups and their sizes) and GET /cluster/{name}/spec for
// each existing cluster's configuration. BDE fixes a cluster's distro
// version at creation (from its own distro, whatever the spec says), keeps
// it through a config and reports it nowhere, so the version is not
// compared: a release's new version reaches the nodes through the
// configuration its bundle renders, which is. Per
// cluster of the bundle it plans, in this order: create (POST /clusters)
// when absent; resume (PUT …/action?state=resume) when a create failed
// (PROVISION_ERROR); config (PUT …/config) when the cluster's or a node
// group's configuration differ, or the last config failed; resize (PUT …/nodegroup/{group}/instancenum) per node group
// whose size differs. A cluster that matches is "unchanged" and gets no
// call. A node group that would shrink is "refused" unless AllowShrink;
// so is a node group BDE does not have (adding one is `cluster expand`,
// which this step does not run) and a cluster created on another distro.
// A config of a STOPPED, ERROR or UPGRADE_ERROR cluster, and a resize of
// one that is neither RUNNING nor SERVICE_WARNING (nor configured first),
// are "refused" in the plan, as BDE would refuse them.
// A cluster BDE is working on (any ClusterStatus that is not stable:
// PROVISIONING, CONFIGURING, EXPANDING, VHM_RUNNING, …) is "busy": it
// gets no call, and Apply fails after the other changes (*BusyError) so a
// deploy stops before its apps.
// It never deletes a cluster. Apply makes exactly the planned writes and
// waits for each task, reporting its progress (it logs in again first when
// the plan's session is over 10 minutes old: a long upload lies between);
// Status compares without writing. Close logs out.
//
// Errors: a BDE that cannot be reached, answers 5xx without an error id
// of its own (none, or BDD.INTERNAL_ERROR) or something that is not its
// JSON, or runs a task past its bound is a *site.UnavailableError (a 500
// with BDE's id, such as CLUSTER.UPDATE_NOT_ALLOWED, is a refusal);
// a refused login a *site.AuthError (the password is in neither).
package clusters
