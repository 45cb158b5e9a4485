// Package demoinputs makes the stand-in inputs of the example site offline and
// deterministically: RPMs named, versioned and laid out like Mesosphere's 2015
// packages (every /etc file %config(noreplace) as fpm --config-files etc/
// makes it, install prefixes by build date, the init jobs and /etc/default
// files they carry) with realistic Requires/Provides, a container image and a
// VM disk. Users
// point the definition at real inputs instead.
package demoinputs
