// Package vcenter deploys a verified bundle to vCenter: datastore files,
// content-library or folder templates, and the BDE management server. Every
// byte it uploads is hashed against the bundle.json that was verified
// (checked.go); it writes only datastore folders whose state names its
// bundle, one deploy at a time (lock.go). A deploy is a Deployment whose
// steps the caller (pipeline) sequences: Open (session, plan, lock),
// DryRun or Apply (files, templates), Images and RecordImages around the
// caller's image push, Finish (guest copy, state), Close (lock, session).
// It calls back into the caller for no step. It is the only package that
// imports govmomi.
package vcenter
