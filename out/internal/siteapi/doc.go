// Package siteapi holds what the Marathon and Chronos steps of `bundle
// deploy` share: the HTTP client of a site API (plain http only to
// loopback, a bounded answer size, a deadline per request), its error
// kinds (unreachable or answering garbage, refusing a call), the
// client-side comparison of a bundle's definition with what the API
// returns, and the Change and Status rows a step reports (the types of
// out/site's step contract, kept here until that package is on main).
package siteapi
