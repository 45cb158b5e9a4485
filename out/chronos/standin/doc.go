// Package standin is a loopback stand-in of the part of Chronos 2.3's REST
// API that the jobs step of `bundle deploy` uses, for tests: no Chronos
// can run here. It speaks the documented wire format (docs/docs/api.md:
// GET /scheduler/jobs, POST /scheduler/iso8601, POST
// /scheduler/dependency, answered 204) and refuses what Chronos refuses
// with 400: a body that is not JSON, a job without a name or command, a
// name outside Chronos' pattern, a schedule that is not an ISO 8601
// repeating interval, a dependent job without parents or with a parent
// Chronos does not have. It also refuses fields a Chronos 2.3 job does not
// have (the real JobDeserializer ignores them, so a misspelt field would
// silently do nothing; the stand-in makes that a failure). Like Chronos,
// it answers jobs with its defaults and counters and writes the schedule's
// start back in Joda's form (2015-03-01T02:00:00.000Z). PUT
// /scheduler/job/{name} runs a job, as on Chronos; the stand-in records
// it so tests can prove nothing calls it. With Credentials set, a request
// without those HTTP basic credentials is 401, as with --http_credentials.
// It is not a Chronos: nothing runs.
package standin
