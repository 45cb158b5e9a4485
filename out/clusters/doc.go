// Package clusters is the clusters step of a deploy (a site.Step): it
// brings the clusters BDE manages to what the bundle's cluster specs
// (clusters/<name>/spec.json, the JSON the BDE CLI POSTs for `cluster
// create --specFile`) say, through BDE's REST API (package out/bde).
//
// Plan logs in and only reads: GET /clusters for what exists (distro,
// version, status, node groups and their sizes) and GET
// /cluster/{name}/spec for each existing cluster's configuration. Per
// cluster of the bundle it plans, in this order: create (POST /clusters)
// when absent; resume (PUT …/action?state=resume) when a create failed
// (PROVISION_ERROR); config (PUT …/config) when the distro version, the
// cluster's or a node group's configuration differ, or the last config
// failed; resize (PUT …/nodegroup/{group}/instancenum) per node group
// whose size differs. A cluster that matches is "unchanged" and gets no
// call. A node group that would shrink is "refused" unless AllowShrink;
// so is a node group BDE does not have (adding one is `cluster expand`,
// which this step does not run) and a cluster created on another distro.
// A cluster BDE is working on (PROVISIONING, CONFIGURING, …) is "busy": it
// gets no call, and Apply fails after the other changes (*BusyError) so a
// deploy stops before its apps.
// It never deletes a cluster. Apply makes exactly the planned writes and
// waits for each task, reporting its progress (it logs in again first when
// the plan's session is over 10 minutes old: a long upload lies between);
// Status compares without writing. Close logs out.
//
// Errors: a BDE that cannot be reached, answers 5xx or something that is
// not its JSON, or runs a task past its bound is a *site.UnavailableError;
// a refused login a *site.AuthError (the password is in neither).
package clusters
