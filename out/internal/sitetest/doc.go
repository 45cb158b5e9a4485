// Package sitetest holds what the tests of the site API steps (out/marathon,
// out/chronos) share: one-line renderings of a plan and of the calls a
// stand-in recorded, and the sites that are down, slow or answer garbage.
package sitetest
