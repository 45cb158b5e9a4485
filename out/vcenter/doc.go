// Package vcenter deploys a verified bundle to vCenter: datastore files,
// content-library or folder templates, and the BDE management server. It is
// the only package that imports govmomi.
package vcenter
