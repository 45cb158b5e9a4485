// Package vmtemplate is the model of a VM template (hardware, disks, network
// adapters, vApp properties), its checks and the derivation of a node
// group's copy. It reads nothing: the compiler plans templates with it and
// images/ovf writes their descriptors, so neither has to import the other.
package vmtemplate
