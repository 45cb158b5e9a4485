//go:build !linux && !darwin && !windows

package osfs

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

func changeTime(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }

func freeBytes(string) (int64, error) { return 0, errors.ErrUnsupported }

func clone(dst, src *os.File) error { return errors.ErrUnsupported }

func startWriteback(*os.File, int64, int64) {}

func setDirect(*os.File, bool) error { return errors.ErrUnsupported }
