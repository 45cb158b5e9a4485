// Package standin is a loopback stand-in of the part of Chronos 2.3's REST
// API that the jobs step of `bundle deploy` uses, for tests: no Chronos
// can run here. It speaks the documented wire format (docs/docs/api.md:
// GET /scheduler/jobs, POST /scheduler/iso8601, POST
// /scheduler/dependency, answered 204).
//
// Its rules follow Chronos' sources (github.com/mesos/chronos). The site
// runs 2.3.0; the oldest 2.3 tag that could be read is 2.3.2 (2.3.0 and
// 2.3.1 are not in the copy that was reachable), so the rules are those
// of 2.3.2, and of 2.3.4 where the two differ:
//   - a name outside JobUtils.jobNamePattern `[\w\s#_-]+` (no dot): 400
//     with Chronos' message (JobUtils.scala and the resources' require,
//     Iso8601JobResource.scala@2.3.2);
//   - a schedule Iso8601Expressions cannot parse: 400 without a body
//     (Iso8601JobResource.scala@2.3.2); no schedule is "R1//PT24H", run
//     now (JobDeserializer.scala@2.3.2), and an empty start is now;
//   - a dependent job without parents, with a parent Chronos lacks, or
//     its own parent: 500 without a body (DependentJobResource.scala
//     @2.3.2 throws a plain Exception; JobGraph.addDependency a
//     NoSuchElementException);
//   - parents win over a schedule: JobDeserializer makes a dependent job
//     and ignores the schedule; posted to /scheduler/iso8601 such a job is
//     refused here with 400 (how 2.3 answers that was not settled);
//   - a body that is not JSON, or a job without a name or command: 400
//     (Chronos fails reading it; its exact status was not settled).
//
// Fields a Chronos job does not have are ignored, as JobDeserializer
// ignores them (it reads only its own). Constraints: Chronos 2.3.2 has
// none (no jobs/constraints package, the field is ignored); 2.3.3 and
// 2.3.4 have only EQUALS (EqualsConstraint.scala@2.3.4), and
// JobDeserializer.scala@2.3.4 silently drops any other operator. The
// stand-in keeps EQUALS constraints and drops the rest, as 2.3.4 does.
//
// Like Chronos, it answers jobs with its defaults and counters and writes
// the schedule's start back in Joda's form (2015-03-01T02:00:00.000Z).
// PUT /scheduler/job/{name} runs a job, as on Chronos; the stand-in
// records it so tests can prove nothing calls it. With Credentials set, a
// request without those HTTP basic credentials is 401, as with
// --http_credentials. It is not a Chronos: nothing runs.
package standin
