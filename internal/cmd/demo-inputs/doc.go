// Command demo-inputs writes the example site's stand-in inputs (RPMs, a
// container image, a VM disk) so that the demo runs offline.
package main
