package osfs

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// fileID is unsupported: os.FileInfo on Windows carries no file index.
func fileID(fs.FileInfo) (FileID, bool) { return FileID{}, false }

func changeTime(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }

func freeBytes(dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, &fs.PathError{Op: "GetDiskFreeSpaceEx", Path: dir, Err: err}
	}
	return int64(avail), nil
}

func clone(dst, src *os.File) error { return errors.ErrUnsupported }

func startWriteback(*os.File, int64, int64) {}

func setDirect(*os.File, bool) error { return errors.ErrUnsupported }
