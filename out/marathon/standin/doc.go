// Package standin is a loopback stand-in of the part of Marathon 0.8's
// REST API that the apps step of `bundle deploy` uses, for tests: no
// Marathon can run here. It speaks the documented wire format (v0.8.x
// docs/docs/rest-api.md: GET and PUT /v2/apps/{id}, GET /v2/deployments).
//
// What it refuses and accepts follows Marathon's sources at v0.8.0
// (github.com/mesosphere/marathon, read at that tag):
//   - a body that is not JSON, negative instances, a container type Mesos
//     lacks: 400 "Invalid JSON" (Play's Reads[AppUpdate] in
//     api/v2/json/Formats.scala@v0.8.0; JsResultException → 400 in
//     api/MarathonExceptionMapper.scala@v0.8.0);
//   - a constraint operator outside UNIQUE, LIKE, CLUSTER, GROUP_BY,
//     UNLIKE: 422 (Constraint.Operator in src/main/proto/marathon.proto
//     @v0.8.0; valueOf's IllegalArgumentException → 422);
//   - an id segment outside Marathon's pattern: 422 (idErrors in
//     api/ModelValidation.scala@v0.8.0);
//   - a PUT while a deployment holds the app: 409 with the deployments,
//     unless ?force=true, which replaces that deployment
//     (AppLockedException, Exception.scala@v0.8.0).
//
// It accepts what v0.8.0 accepts: fields AppUpdate does not have are
// ignored, not refused (Play reads only its fields; AppUpdate.scala is
// also @JsonIgnoreProperties(ignoreUnknown = true)); `labels` is an
// AppUpdate field (AppUpdate.scala@v0.8.0); a dependency on an app that
// does not exist is accepted (checkUpdate only checks the ids' syntax, and
// Group.applicationDependencies in state/Group.scala@v0.8.0 drops ids it
// cannot find), so the order of the apps step is proved by the order of
// the recorded calls; cmd together with args, and negative cpus, mem or
// disk, are not refused either; an id in the body wins over the path's
// (AppsResource.replace@v0.8.0).
//
// Like Marathon, a PUT keeps the fields it does not name (AppUpdate.apply:
// cmd.orElse(app.cmd), args.orElse(app.args)), and stamps a new version
// even when nothing changed. GET answers carry Marathon's defaults and its
// own fields (version, tasks counters, deployments), and ports of 0 come
// back assigned. A deployment ends after Polls polls of /v2/deployments;
// then the app's tasks run, and are healthy unless the test says
// otherwise. With Credentials set, a request without those HTTP basic
// credentials is 401, as with --http_credentials. Every call is recorded
// (out/internal/callrec, shared with the Chronos and BDE stand-ins).
// It is not a Marathon: nothing runs.
package standin
