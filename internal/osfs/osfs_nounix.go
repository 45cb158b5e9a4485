//go:build !unix && !windows

package osfs

import "io/fs"

func fileID(fs.FileInfo) (FileID, bool) { return FileID{}, false }
