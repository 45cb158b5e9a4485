//go:build !linux

package repo

func swapDir(src, dst string) error { return swapDirPortable(src, dst) }
