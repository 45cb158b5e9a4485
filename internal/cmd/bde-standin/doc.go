// Command bde-standin runs out/bde/standin, the loopback stand-in of BDE's
// REST API, for the demo: user admin with the password in
// BUNDLE_BDE_PASSWORD, and one running cluster per -cluster NAME=DISTRO. It
// prints BDE_URL=<its /serengeti URL> and serves until interrupted. It is
// not a BDE: no Chef runs.
package main
