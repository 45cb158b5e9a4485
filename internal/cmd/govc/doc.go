// Command govc is the govc CLI over the pinned govmomi library, with the
// commands the deploy demo and field checks use.
package main
