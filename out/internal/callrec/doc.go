// Package callrec records the calls a loopback stand-in of a site API
// answers (out/marathon/standin, out/chronos/standin, out/bde/standin), so
// tests can check each call's method, path, query, status and body, and
// their order. It also serves a JSON API behind optional HTTP basic
// credentials, the way Marathon and Chronos do with --http_credentials.
package callrec
