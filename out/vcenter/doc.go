// Package vcenter deploys a verified bundle to vCenter: datastore files,
// content-library or folder templates, and the BDE management server. Every
// byte it uploads is hashed against the bundle.json that was verified
// (checked.go); it writes only datastore folders whose state names its
// bundle, one deploy at a time (lock.go). It is the only package that
// imports govmomi.
package vcenter
