package repo

import (
	"io/fs"
	"syscall"
	"time"
)

// changeTime is the inode change time: it moves whenever the file is
// written, renamed over or has its mtime reset, so it cannot be faked.
func changeTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return fi.ModTime()
}
