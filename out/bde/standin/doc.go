// Package standin is a loopback stand-in of the part of BDE's REST API
// (serengeti-ws RestResource and Spring Security's form login) that
// `bundle deploy` and `bundle status` use, for tests: no real BDE
// management server can run here. It serves GET /clusters, GET
// /cluster/{name}, GET /cluster/{name}/spec, POST /clusters, PUT
// /cluster/{name}/config, PUT /cluster/{name}/nodegroup/{group}/instancenum,
// PUT /cluster/{name}/action?state=resume and GET /task/{id}, and follows
// the source of serengeti-ws (github.com/vmware-serengeti/serengeti-ws,
// tags 2.2.0 and 2.3.1; paths below are in that repository). Server.Version
// ("2.3.1" by default, or "2.2.0") picks where the two differ.
//
// Bodies (Jackson 2.1 under Spring 3.2.13, pom.xml @2.3.1):
//   - The REST servlet is <mvc:annotation-driven/> with no converter of its
//     own (server/serengeti/WebContent/WEB-INF/spring/restapi-servlet.xml
//     @2.3.1), so a plain ObjectMapper binds bodies: FAIL_ON_UNKNOWN_PROPERTIES
//     is on and no apitype is @JsonIgnoreProperties(ignoreUnknown). A field
//     is a bean property (a public setter), named as the getter/setter
//     names it, not as the Gson @SerializedName says; a property whose
//     getter is @JsonIgnore (ClusterCreate.networkNames,
//     NodeGroupCreate.referredGroup, StorageRead.shares) is skipped.
//   - The properties are those of common/src/main/java/com/vmware/bdd/
//     apitypes/ClusterCreate.java, NodeGroupCreate.java and StorageRead.java
//     @2.3.1 (infrastructure_config by @JsonProperty); @2.2.0 ClusterCreate
//     has templateId for templateName, NodeGroupCreate lacks
//     latencySensitivity, reservedCpuRatio and reservedMemRatio, StorageRead
//     lacks diskNum and shareDatastore.
//   - A body Jackson cannot bind raises HttpMessageNotReadableException:
//     @2.3.1 server/serengeti/src/main/java/com/vmware/bdd/rest/advice/
//     DefaultExceptionHandler.java answers 500 BDD.INTERNAL_ERROR "Internal
//     server error: UNKNOWN."; @2.2.0 RestResource.handleException answers
//     400 BDD.BAD_REST_CALL with Jackson's message.
//   - Errors are BddErrorMessage {code, message} with the status
//     common/src/main/resources/serengeti-errcode.properties gives the id
//     (BDD.NOT_FOUND 404, BDD.ALREADY_EXISTS and BDD.INVALID_PARAMETER 400),
//     500 for an id it does not list (CLUSTER.UPDATE_NOT_ALLOWED,
//     CLUSTER.NO_NEED_TO_RESIZE, CLUSTER.NODEGROUP_NOT_FOUND,
//     CLUSTER_CONFIG.NODE_GROUP_NAME_IS_INVALID, …).
//
// Create (RestResource.createCluster, server/cluster-mgmt/…/manager/
// ClusterManager.java createCluster and ClusterConfigManager.java
// createClusterConfig @2.3.1): the name must match [a-zA-Z0-9_]+
// (Constants.CLUSTER_NAME_PATTERN, 400 BDD.INVALID_PARAMETER; no name is a
// NullPointerException, 500); the distro is not required (blank is the app
// manager's default stack; here the only distro set with SetDistro) but
// must be one BDE knows (404 BDD.NOT_FOUND); the distroVendor and
// distroVersion of the body are replaced by the distro's; node group names
// must match Constants.NODE_GROUP_NAME_PATTERN (letters, digits; 500
// CLUSTER_CONFIG.NODE_GROUP_NAME_IS_INVALID); a taken name is 400
// BDD.ALREADY_EXISTS. Answers 202 with Location …/serengeti/api/task/{id}
// (RestResource.redirectRequest); the task ends the cluster RUNNING or
// PROVISION_ERROR.
//
// Config (ClusterManager.configCluster, ClusterConfigManager.updateAppConfig
// @2.3.1, same @2.2.0): the cluster must be RUNNING, SERVICE_WARNING,
// CONFIGURE_ERROR or SERVICE_STOPPED (else 500 CLUSTER.UPDATE_NOT_ALLOWED);
// the body's distro and distroVersion are replaced by the cluster's, so a
// config changes only the cluster's configuration and each node group's
// (a group the body gives no configuration loses its own), never the
// version; a configuration for a group the cluster lacks is a
// NullPointerException (500). The task ends RUNNING or CONFIGURE_ERROR.
//
// Resize (RestResource.resizeCluster, ClusterManager.resizeCluster @2.3.1,
// same @2.2.0): the body is a bare JSON integer; 0 or less is 400
// BDD.INVALID_PARAMETER; an unknown group 500 CLUSTER.NODEGROUP_NOT_FOUND;
// the cluster must be RUNNING or SERVICE_WARNING (500
// CLUSTER.UPDATE_NOT_ALLOWED); the group's current count is 500
// CLUSTER.NO_NEED_TO_RESIZE unless ?force=true; a smaller count shrinks the
// group (ShrinkManager), it is not refused.
//
// Reads: GET /clusters and GET /cluster/{name} answer ClusterRead as
// Jackson writes it (apitypes/ClusterRead.java @2.3.1, nulls written):
// name, version (the BDE release that created the cluster, not the
// distro's), distro, distroVendor, status (apitypes/ClusterStatus.java),
// instanceNum, nodeGroups (NodeGroupRead: name, roles, instanceNum,
// cpuNum, memCapacityMB, storage, …) and the rest; there is no
// distroVersion. GET /cluster/{name}/spec answers the stored ClusterCreate
// with name, distroVendor, distroVersion and the placement fields null
// (ClusterManager.getClusterSpec @2.2.0 and @2.3.1). GET /task/{id} is
// TaskRead (id, status STARTING/STARTED/COMPLETED/FAILED/…, type, progress
// 1.0 once COMPLETED, progressMessage, errorMessage, target).
//
// It refuses a call without a session and a wrong password (401), and
// ends a task FAILED when told to (SetFail). Where it has to assume: it
// has no distro default spec, so a create without node groups is refused
// (500 CLUSTER_CONFIG.NODE_GROUP_NOT_EXISTING, as validateNodeGroupNames
// does) where BDE would first fill in the distro's; it checks no
// datastore, network, resource pool, role or template. It records every
// call (method, path, query, status, body — the login's form aside, which
// holds the password) in order. It is not a BDE: no VM is cloned and no
// Chef runs.
package standin
