// Package outtest holds the test site and stand-in writers shared by the
// tests of out and of the readers (through out/internal/builttest): the example-derived site with its inputs, its
// compiled plan, and image and template writers that need no tools.
package outtest
