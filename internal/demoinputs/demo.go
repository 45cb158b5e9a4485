package demoinputs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Epoch is the timestamp of every stand-in input (2015-03-11, the example
// bundle's epoch).
const Epoch = 1426032000

// WriteAll makes every stand-in input of the example site under dir.
func WriteAll(ctx context.Context, dir string) ([]string, error) {
	return Write(ctx, dir)
}

// Write makes every stand-in input of the example site under dir:
// rpms/mesos-<version>/*.rpm for 0.21.0 and 0.22.0 and the VM template's
// disk disks/centos-6.6.vmdk and the nginx image images/nginx-1.7.9.tar.
func Write(ctx context.Context, dir string) ([]string, error) {
	var written []string
	for _, v := range []string{"0.21.0", "0.22.0"} {
		for _, p := range Mesos(v) {
			if err := ctx.Err(); err != nil {
				return written, err
			}
			path, err := WriteRPM(filepath.Join(dir, "rpms", "mesos-"+v), p, Epoch)
			if err != nil {
				return written, fmt.Errorf("writing stand-in RPM: %w", err)
			}
			written = append(written, path)
		}
	}
	img := filepath.Join(dir, "images", "nginx-1.7.9.tar")
	if err := os.MkdirAll(filepath.Dir(img), 0o755); err != nil {
		return written, err
	}
	if err := NginxImage(img, Epoch); err != nil {
		return written, fmt.Errorf("writing stand-in image: %w", err)
	}
	written = append(written, img)
	disk := filepath.Join(dir, "disks", "centos-6.6.vmdk")
	if err := os.MkdirAll(filepath.Dir(disk), 0o755); err != nil {
		return written, err
	}
	if err := Disk(disk, 64); err != nil {
		return written, fmt.Errorf("writing stand-in disk: %w", err)
	}
	written = append(written, disk)
	return written, nil
}
