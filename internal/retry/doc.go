// Package retry is the one retry policy of the project: which failures are
// worth the same request again (Transient for the network, Status for an
// HTTP answer) and the back-off loop (Do) that tries again, logging each
// retry as a debug record with its attempt, wait and reason. Image pulls
// and pushes (images/source, images/registry) and vCenter uploads
// (out/vcenter) all retry through it. It never prints.
package retry
