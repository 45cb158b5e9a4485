// Command bde-standin runs out/bde/standin, the loopback stand-in of BDE's
// REST API, for the demo: user admin with the password in BDE_PASSWORD
// (or the older BUNDLE_BDE_PASSWORD), and one running cluster with no node
// groups per -cluster NAME=DISTRO (none: deploy creates the bundle's). It
// prints BDE_URL=<its /serengeti URL> and serves until interrupted. It is
// not a BDE: no Chef runs.
package main
