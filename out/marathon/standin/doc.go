// Package standin is a loopback stand-in of the part of Marathon 0.8's
// REST API that the apps step of `bundle deploy` uses, for tests: no
// Marathon can run here. It speaks the documented wire format (v0.8.x
// docs/docs/rest-api.md: GET and PUT /v2/apps/{id}, GET /v2/deployments)
// and refuses what Marathon refuses: a body that is not JSON (400), a
// field AppUpdate does not have (400, Jackson's "Unrecognized field"), an
// invalid app (422: an id segment outside Marathon's pattern, cmd with
// args, a constraint operator 0.8 does not know, negative resources), and
// a PUT while a deployment holds the app (409 with the deployments,
// unless ?force=true, which replaces that deployment). It also refuses an
// app whose dependencies are not there yet (422), so that the tests prove
// the step's order; whether Marathon 0.8 itself refuses that is not
// settled here. Like Marathon, a
// PUT keeps the fields it does not name, and stamps a new version even
// when nothing changed. GET answers carry Marathon's defaults and its own
// fields (version, tasks counters, deployments), and ports of 0 come back
// assigned. A deployment ends after Polls polls of /v2/deployments; then
// the app's tasks run, and are healthy unless the test says otherwise.
// With Credentials set, a request without those HTTP basic credentials is
// 401, as with --http_credentials. Every call is recorded. It is not a Marathon: nothing runs.
package standin
