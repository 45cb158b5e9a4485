// Package cli is the thin cobra layer of the bundle command: each verb parses
// flags and calls one library function. It owns all printing: diagnostics,
// progress bars (on a TTY), plain lines (otherwise) and JSON (--json).
package cli
