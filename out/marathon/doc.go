// Package marathon is the apps step of `bundle deploy`: a client of
// Marathon 0.8's REST API (docs/docs/rest-api.md and api/v2/AppsResource.scala
// at v0.8.x) that brings the site's apps to the bundle's
// clusters/<cluster>/marathon/<app>.json.
//
// Plan only reads: GET /v2/apps/{id} for each app (an app after the apps
// it depends on, Marathon 0.8's dependencies; groups are the paths of the
// app ids, which Marathon makes with the app), and a client-side
// comparison of the bundle's definition with Marathon's answer (Marathon
// stamps a new version even for an identical PUT, and answers with its
// defaults and its own fields: version, tasks, deployments, counters).
// Every field the bundle's definition sets must hold the same value;
// fields it does not set are left to Marathon, because a PUT of Marathon
// 0.8 is an AppUpdate that keeps the fields it does not name. The bundle
// adds its digest of the definition in labels ("bundle.sha256"), so the
// site says which bundle definition an app runs.
//
// Apply makes exactly the planned writes: PUT /v2/apps/{id} for an app
// that is missing or differs, then waits, bounded, for the deployment's
// id to leave GET /v2/deployments and for the app's tasksHealthy (or
// tasksRunning, for an app without health checks) to reach its
// instances. A 409 (another deployment holds the app) stops the step with
// the deployments named and what to do; with Force, the PUT carries
// ?force=true, which Marathon answers by cancelling the deployment that
// held the app. A step that stops part way leaves every app either as it
// was or with the bundle's definition: a re-run plans only what is left.
//
// Status reads the same and says, per app, the bundle's digest and
// instances against Marathon's version and healthy/total tasks.
//
// The subpackage standin is a loopback stand-in of that API for tests
// (no Marathon can run here).
package marathon
