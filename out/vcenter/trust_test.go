package vcenter

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// flipInPlace rewrites one byte of the file in place: same size, same
// inode, new content (what an edit through a hard link does).
func flipInPlace(t *testing.T, p string, at int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func readDSState(t *testing.T, s *sim, dsPath string) *deployState {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.dsDir(t), filepath.FromSlash(dsPath), StateFile))
	if err != nil {
		if os.IsNotExist(err) {
			return newState()
		}
		t.Fatal(err)
	}
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestDeployChangedBetweenVerifyAndUpload rewrites a file of the bundle
// after verify passed and before it is uploaded: every upload path (a
// datastore file, the last byte of a file, a template disk through the
// content library and through an OVF import, bundle.json itself) must fail
// the deploy, never record the file as deployed, and leave a state from
// which the next deploy uploads it again.
func TestDeployChangedBetweenVerifyAndUpload(t *testing.T) {
	const repo = "serengeti/www/yum/mesos.repo"
	const rpm = "serengeti/www/yum/repos/mesos/0.22.0/pkg-3-1.0.x86_64.rpm"
	for _, tc := range []struct {
		name   string
		folder bool // templates imported into a VM folder, not a library
		tamper func(t *testing.T, dir string)
		file   string // the file whose state entry must not be recorded ("" = none)
	}{
		{"datastore file, first byte", false, func(t *testing.T, dir string) { flipInPlace(t, filepath.Join(dir, repo), 0) }, repo},
		{"datastore file, last byte", false, func(t *testing.T, dir string) {
			p := filepath.Join(dir, rpm)
			st, _ := os.Stat(p)
			flipInPlace(t, p, st.Size()-1)
		}, rpm},
		{"datastore file, grown", false, func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, repo), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("baseurl=http://evil.example/\n")
			f.Close()
		}, repo},
		{"library template disk", false, func(t *testing.T, dir string) {
			flipInPlace(t, filepath.Join(dir, "ovf/mesos-node/mesos-node-disk1.vmdk"), 4000)
		}, ""},
		{"folder template disk", true, func(t *testing.T, dir string) {
			flipInPlace(t, filepath.Join(dir, "ovf/mesos-node/mesos-node-disk1.vmdk"), 4000)
		}, ""},
		{"bundle.json", false, func(t *testing.T, dir string) {
			p := filepath.Join(dir, "bundle.json")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(b), "2015.03.1", "2015.03.9", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			s := newSim(t)
			spec := baseSpec("2015.03.1")
			dir := spec.write(t, t.TempDir())
			tgt := spec.target
			if tc.folder {
				tgt.Library = ""
				tgt.Datacenter = "DC0"
				tgt.Datastore = "LocalDS_0"
			}
			cfg := s.config(t, tgt, Overrides{})
			pristine := map[string][]byte{}
			_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					pristine[p], _ = os.ReadFile(p)
				}
				return nil
			})
			opts := deployOpts()
			tamper := caller{verify: func(ctx context.Context, dir string) (string, error) {
				sum, err := checkFiles(ctx, dir)
				if err == nil {
					tc.tamper(t, dir)
				}
				return sum, err
			}}
			_, err := Deploy(ctx, dir, cfg, opts, tamper)
			if !errors.Is(err, ErrChanged) {
				t.Fatalf("deploy of a bundle changed after verify: %v", err)
			}
			st := readDSState(t, s, "bundles/"+spec.name)
			if tc.file != "" {
				if _, ok := st.Files[tc.file]; ok {
					t.Errorf("the state records %s as deployed", tc.file)
				}
				if got, err := os.ReadFile(filepath.Join(s.dsDir(t), "bundles", spec.name, filepath.FromSlash(tc.file))); err == nil {
					if cur, _ := os.ReadFile(filepath.Join(dir, tc.file)); string(got) == string(cur) {
						t.Errorf("the changed %s reached the datastore in full", tc.file)
					}
				}
			}
			// The bundle as verified: the next deploy finishes the job.
			for p, b := range pristine {
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := Deploy(ctx, dir, cfg, deployOpts())
			if err != nil {
				t.Fatalf("the deploy after it: %v", err)
			}
			if tc.file != "" && !strings.Contains(strings.Join(itemLines(out.Done, false), "\n"), "file "+tc.file+" ") {
				t.Errorf("the next deploy did not upload %s again: %v", tc.file, itemLines(out.Done, false))
			}
			if out.Templates != 1 {
				t.Errorf("the next deploy imported %d templates, want 1", out.Templates)
			}
			checkDatastore(t, s, dir, "bundles/"+spec.name)
		})
	}
}

// TestDeployOwnsOnlyItsFolder: a datastore folder holding another bundle's
// state is refused before anything is changed, and deploys to one folder
// exclude each other.
func TestDeployOwnsOnlyItsFolder(t *testing.T) {
	ctx := ctxT(t)
	s := newSim(t)
	root := t.TempDir()
	a := baseSpec("2015.03.1")
	a.templates = nil
	dirA := a.write(t, root)
	cfg := s.config(t, a.target, Overrides{DatastorePath: "bundles/shared"})
	if _, err := Deploy(ctx, dirA, cfg, deployOpts()); err != nil {
		t.Fatal(err)
	}
	before := readDSState(t, s, "bundles/shared")
	// A new version of the same bundle: a deploy with changes to make.
	a2 := baseSpec("2015.03.2")
	a2.templates = nil
	a2.files["serengeti/www/specs/map"] = []byte("[2]\n")
	dirA2 := a2.write(t, root)

	t.Run("another bundle's state", func(t *testing.T) {
		b := baseSpec("2015.03.1")
		b.name = "other-site"
		b.templates = nil
		b.files = map[string][]byte{"serengeti/www/specs/map": []byte("[]\n")}
		dirB := b.write(t, root)
		_, err := Deploy(ctx, dirB, cfg, deployOpts())
		var ce *ConfigError
		if !errors.Is(err, ErrOtherBundle) || !errors.As(err, &ce) || !strings.Contains(err.Error(), `"mesos-site"`) {
			t.Fatalf("deploying another bundle over mesos-site's folder: %v", err)
		}
		after := readDSState(t, s, "bundles/shared")
		if after.Bundle != "mesos-site" || len(after.Files) != len(before.Files) {
			t.Errorf("the state was changed: %+v", after)
		}
		checkDatastore(t, s, dirA, "bundles/shared")
	})

	t.Run("a live lock", func(t *testing.T) {
		sess, err := Connect(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Logout(ctx)
		inv, err := sess.resolve(ctx, cfg, false)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := LoadBundle(dirA)
		o := deployOpts()
		o.LockTTL = time.Hour
		held, err := acquireLock(ctx, sess, inv, "bundles/shared", b, o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Deploy(ctx, dirA2, cfg, deployOpts())
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "mesos-site 2015.03.1") {
			t.Fatalf("deploy under a live lock: %v", err)
		}
		if st := readDSState(t, s, "bundles/shared"); st.Version != "2015.03.1" {
			t.Errorf("a deploy refused by the lock wrote the state: %+v", st)
		}
		// A dry run, and a deploy without changes, read and take no lock.
		o = deployOpts()
		o.DryRun = true
		if _, err := Deploy(ctx, dirA2, cfg, o); err != nil {
			t.Fatalf("dry run under a lock: %v", err)
		}
		if out, err := Deploy(ctx, dirA, cfg, deployOpts()); err != nil || !out.NoChanges {
			t.Fatalf("a deploy without changes under a lock: %v", err)
		}
		if err := held.release(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(s.dsDir(t), "bundles/shared", LockDir)); !os.IsNotExist(err) {
			t.Fatalf("the lock is still there after release: %v", err)
		}
	})

	t.Run("an expired lock is taken over", func(t *testing.T) {
		sess, err := Connect(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Logout(ctx)
		inv, _ := sess.resolve(ctx, cfg, false)
		b, _ := LoadBundle(dirA)
		o := deployOpts()
		o.LockTTL = -time.Second
		if _, err := acquireLock(ctx, sess, inv, "bundles/shared", b, o); err != nil {
			t.Fatal(err)
		}
		if _, err := Deploy(ctx, dirA2, cfg, deployOpts()); err != nil {
			t.Fatalf("deploy over an expired lock: %v", err)
		}
		if _, err := os.Stat(filepath.Join(s.dsDir(t), "bundles/shared", LockDir)); !os.IsNotExist(err) {
			t.Fatalf("the lock is left behind: %v", err)
		}
	})

	t.Run("two concurrent deploys", func(t *testing.T) {
		v2 := baseSpec("2015.04.0")
		v2.templates = nil
		v2.files["serengeti/www/specs/map"] = []byte("[1]\n")
		dir2 := v2.write(t, root)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, d := range []string{dirA, dir2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = Deploy(ctx, d, cfg, deployOpts())
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrLocked):
				t.Errorf("a concurrent deploy failed otherwise: %v", err)
			}
		}
		if ok == 0 {
			t.Fatalf("neither deploy succeeded: %v", errs)
		}
		// Whatever ran last left a state that matches its bundle.
		st := readDSState(t, s, "bundles/shared")
		want := dirA
		if st.Version == "2015.04.0" {
			want = dir2
		}
		checkDatastore(t, s, want, "bundles/shared")
		if out, err := Deploy(ctx, want, cfg, deployOpts()); err != nil || !out.NoChanges {
			t.Errorf("re-deploying the winner: %v", err)
		}
	})
}
