// Package site is the contract between `bundle deploy`, `bundle deploy
// --dry-run`, `bundle status` and the steps that carry a bundle to a site's
// APIs: clusters through BDE (package out/clusters), apps through
// Marathon and jobs through Chronos. A step reads what the site has and
// says, as a list of Change, the writes it would make (Plan, which only
// reads); Apply makes exactly those writes, in order; Status compares the
// site with the bundle row by row, changing nothing.
//
// It also holds what every step shares: an Endpoint read from the
// environment the way govc reads GOVC_* (BDE_URL, BDE_USERNAME,
// BDE_PASSWORD, BDE_INSECURE; MARATHON_URL, MARATHON_INSECURE; …) whose
// password is never printed, an HTTP client with bounded waits, the
// errors the CLI maps to exit codes (UnavailableError: a site API that is
// down, slow or answers garbage; AuthError: a refused login), and the
// printing of a plan and a status table. It contacts nothing itself.
package site
