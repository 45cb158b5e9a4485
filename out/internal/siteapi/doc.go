// Package siteapi holds what the Marathon and Chronos steps of `bundle
// deploy` share: the HTTP client of a site API (plain http only to
// loopback or when asked, a bounded answer size, a deadline per request),
// its errors (site.UnavailableError for an API that is down, slow or
// answers garbage; APIError for a refusal), and the client-side
// comparison of a bundle's definition with what the API returns.
package siteapi
