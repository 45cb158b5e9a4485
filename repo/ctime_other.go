//go:build !linux

package repo

import (
	"io/fs"
	"time"
)

func changeTime(fi fs.FileInfo) time.Time { return fi.ModTime() }
