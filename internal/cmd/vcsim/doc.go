// Command vcsim runs govmomi's vCenter simulator on loopback for demos and
// manual testing of bundle deploy. It prints the GOVC_URL to use and serves
// until SIGINT or SIGTERM.
package main
