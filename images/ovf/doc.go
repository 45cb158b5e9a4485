// Package ovf renders OVF descriptors, .mf manifests and OVA archives for VM
// templates, and reads stream-optimized VMDK headers to check disks.
package ovf
