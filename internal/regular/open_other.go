//go:build !unix

package regular

import (
	"fmt"
	"io/fs"
	"os"
)

// openNonBlocking checks the path before opening it: where opening cannot
// be made non-blocking, only regular files are opened at all.
func openNonBlocking(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (a %s)", ErrNotRegular, Kind(fi.Mode()))}
	}
	return os.Open(path)
}

func clearNonBlocking(*os.File) error { return nil }
