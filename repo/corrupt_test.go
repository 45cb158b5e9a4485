package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bdebundle/bundle/repo/internal/rpmfixture"
)

// TestCorruptRPMs feeds Index one bad file next to good ones: each must
// fail with an error naming the file and the problem, leave the previous
// repodata as it was and leave no temporary directory behind.
func TestCorruptRPMs(t *testing.T) {
	good := rpmfixture.Corpus(t)
	tests := rpmfixture.CorruptRPMs(t)
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			dir := t.TempDir()
			rpmfixture.CopyFiles(t, dir, good, rpmfixture.Epoch)
			indexDir(t, dir, IndexOptions{})
			before := repodataBytes(t, dir)
			bad := filepath.Join(dir, "victim.rpm")
			if tt.Data == nil {
				if err := os.Symlink(filepath.Join(dir, "gone.rpm.missing"), bad); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(bad, tt.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Index(t.Context(), dir, IndexOptions{Epoch: 1})
			if err == nil {
				t.Fatal("Index accepted the bad file")
			}
			msg := err.Error()
			if !strings.Contains(msg, bad) || !strings.Contains(msg, tt.Want) {
				t.Errorf("error %q should name %s and say %q", msg, bad, tt.Want)
			}
			for _, g := range good {
				if strings.Contains(msg, filepath.Base(g)) {
					t.Errorf("error blames the good %s: %v", filepath.Base(g), err)
				}
			}
			sameRepodata(t, before, repodataBytes(t, dir))
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".repodata") {
					t.Errorf("left behind %s", e.Name())
				}
			}
		})
	}
}

// TestWriteFailureLeavesOldRepodata makes the write itself fail (cancelled
// context) and checks the old repodata survives.
func TestWriteFailureLeavesOldRepodata(t *testing.T) {
	dir := t.TempDir()
	rpmfixture.CopyFiles(t, dir, rpmfixture.Corpus(t), rpmfixture.Epoch)
	indexDir(t, dir, IndexOptions{})
	before := repodataBytes(t, dir)
	pkgs, err := ReadRepodata(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	cancel()
	if err := WriteRepodata(ctx, dir, pkgs, WriteOptions{Timestamp: 5}); err == nil {
		t.Fatal("WriteRepodata succeeded with a cancelled context")
	}
	sameRepodata(t, before, repodataBytes(t, dir))
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".repodata") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}
