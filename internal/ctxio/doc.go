// Package ctxio makes long reads stop when their context is done.
package ctxio
