// Package chronos is the jobs step of `bundle deploy`: a client of Chronos
// 2.3's REST API (docs/docs/api.md, Iso8601JobResource.scala,
// DependentJobResource.scala) that brings the site's jobs to the bundle's
// chronos/<job>.json.
//
// Plan only reads: one GET /scheduler/jobs, and a client-side comparison
// of each bundle job with Chronos' (which answers with its defaults and
// counters: successCount, lastSuccess, …). Every field the bundle's job
// sets must hold the same value, except the schedule, which Chronos
// rewrites as the job runs (the start moves to the next run, a count of
// repetitions goes down): a site schedule with the same period, a start
// not before the bundle's and no more repetitions is the bundle's.
//
// Apply makes exactly the planned writes: POST /scheduler/iso8601 for a
// scheduled job, POST /scheduler/dependency for a job with parents
// (Chronos creates or replaces a job by name), scheduled jobs first and
// every parent before its children, so Chronos never sees an unknown
// parent. It never calls PUT /scheduler/job/{name}: that runs a job.
// After the writes it reads the jobs again and fails if Chronos does not
// hold what it accepted. Non-leaders redirect to the leader; redirects
// are followed.
//
// Status says, per job, the bundle's schedule or parents against
// Chronos', with the last success and error.
//
// The subpackage standin is a loopback stand-in of that API for tests (no
// Chronos can run here).
package chronos
