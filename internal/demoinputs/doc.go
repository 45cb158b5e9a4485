// Package demoinputs makes the stand-in inputs of the example site offline and
// deterministically: RPMs named and versioned like Mesosphere's 2015 packages
// with realistic Requires/Provides, a container image and a VM disk. Users
// point the definition at real inputs instead.
package demoinputs
