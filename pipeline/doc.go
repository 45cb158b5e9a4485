// Package pipeline is the composition root: it sequences the steps of every
// verb, one request struct per verb, so each verb calls one function here
// and prints the result.
//
// Compile (CompileRequest: validate, and the front half of build) loads a
// definition, gathers the Facts about its inputs with internal/inputfacts
// (the files its paths and globs name, RPM headers and signatures, baseline
// repodata, existing manifests, image digests, VM disk headers) and compiles
// the Plan with one compiler.Compile call; Mode says whether registries are
// asked (ModeBuild) or not (ModeCheck). Build (BuildRequest) compiles once
// and executes the Plan (checked once, by builder.Check, when it compiles)
// with builder.Build and its writer hooks backed by the real repo, images
// and ovf implementations; it reads the signing key, decides the protected
// paths and the previous image layout itself. Lock (LockRequest) checks the
// definition, resolves every image and writes the lock file with
// internal/lockfile. Verify (VerifyRequest) runs out/verify with the deep
// checks (repodata, image layout, OVF). Deploy and Status (DeployRequest)
// verify a directory, or extract and verify an archive in one pass, reading
// bundle.json once, then sequence the deploy's steps themselves:
// vcenter.Open with the verified bundle (the session, the plan, and for a
// real run the datastore folder's lock), the clusters and site steps'
// plans, Apply (files and templates), the image push (registry.Push held
// to the index.json digest of the verified bundle.json, recorded with
// RecordImages under the lock), Finish (guest copy, state), Close, then
// the clusters and site steps; the apps and jobs steps are set up from the
// verified bundle and MARATHON_URL / CHRONOS_URL (LoadAppsJobsSteps).
// PushImages (PushRequest) and ListImages push and list a bundle's images. Volumes and deltas (media.go:
// SplitArchive, CheckVolume, WriteDelta, VerifyDelta, Merge): Build writes
// a volume set and a delta on request, PrepareDeploy merges a delta onto its
// base and has deploy require the site to hold the base. The read-only
// readers, out/inspect and out/diff, need nothing wired in: the CLI calls
// them directly. Nothing here prints.
package pipeline
