package vcenter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// LockDir is the folder, inside the datastore folder of a deploy, whose
// existence means a deploy is running there. Creating a folder that exists
// is refused by vCenter (FileAlreadyExists): the one atomic test-and-set
// the datastore API offers.
const LockDir = ".bundle-lock"

// lockOwnerFile, inside LockDir, says who holds the lock and until when.
const lockOwnerFile = "owner.json"

// ErrLocked is wrapped by errors about a datastore folder another deploy
// holds.
var ErrLocked = errors.New("another deploy holds the datastore folder")

// ErrOtherBundle is wrapped by errors about a datastore folder whose state
// file belongs to another bundle.
var ErrOtherBundle = errors.New("the datastore folder belongs to another bundle")

// lockOwner is the content of the owner file.
type lockOwner struct {
	Token   string    `json:"token"`
	Bundle  string    `json:"bundle"`
	Version string    `json:"version"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires"`
}

// dsLock is a held lock.
type dsLock struct {
	s     *Session
	inv   *inventory
	dir   string // datastore folder of the deploy
	owner lockOwner
	ttl   time.Duration
	// renewed is when the owner file was last written.
	renewed time.Time
}

func (l *dsLock) lockPath() string { return path.Join(l.dir, LockDir) }

// acquireLock takes the lock of datastore folder dir for bundle b. A lock
// whose owner's expiry has passed (a deploy that died) is taken over; a
// live one is refused with who holds it.
func acquireLock(ctx context.Context, s *Session, inv *inventory, dir string, b *Bundle, o Options) (*dsLock, error) {
	ttl := o.LockTTL
	fm := object.NewFileManager(s.Vim)
	if err := fm.MakeDirectory(ctx, inv.ds.Path(dir), inv.dc, true); err != nil && !fault.Is(err, &types.FileAlreadyExists{}) {
		return nil, vcErr("creating folder "+inv.ds.Path(dir), err)
	}
	host, _ := os.Hostname()
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	now := time.Now().UTC().Truncate(time.Second)
	l := &dsLock{s: s, inv: inv, dir: dir, ttl: ttl, owner: lockOwner{
		Token: hex.EncodeToString(tok[:]), Bundle: b.Name, Version: b.Version, Host: host, PID: os.Getpid(),
		Since: now, Expires: now.Add(ttl),
	}}
	where := inv.ds.Path(l.lockPath())
	for attempt := 0; ; attempt++ {
		err := fm.MakeDirectory(ctx, where, inv.dc, false)
		if err == nil {
			break
		}
		if !fault.Is(err, &types.FileAlreadyExists{}) {
			return nil, vcErr("creating the lock "+where, err)
		}
		held, rerr := l.readOwner(ctx)
		if rerr != nil && attempt == 0 {
			// A deploy writes its owner file right after creating the
			// lock: one that has none after a grace period died in
			// between.
			select {
			case <-time.After(o.LockGrace):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			held, rerr = l.readOwner(ctx)
		}
		switch {
		case rerr != nil && attempt > 0:
			return nil, fmt.Errorf("%w: %s exists and its owner cannot be read (%v); if no deploy is running there, remove it: govc datastore.rm %q", ErrLocked, where, rerr, l.lockPath())
		case attempt == 0 && (rerr != nil || time.Now().After(held.Expires)):
			// A deploy that died: its lock is taken over.
			if err := l.remove(ctx); err != nil {
				return nil, err
			}
			continue
		default:
			return nil, fmt.Errorf("%w: bundle %s %s is being deployed to %s from %s (pid %d) since %s; the lock expires at %s",
				ErrLocked, held.Bundle, held.Version, inv.ds.Path(dir), held.Host, held.PID, held.Since.Format(time.RFC3339), held.Expires.Format(time.RFC3339))
		}
	}
	if _, err := retry(ctx, o, func() error { return l.writeOwner(ctx) }); err != nil {
		_ = l.remove(context.WithoutCancel(ctx))
		return nil, err
	}
	return l, nil
}

func (l *dsLock) readOwner(ctx context.Context) (lockOwner, error) {
	var o lockOwner
	r, _, err := l.inv.ds.Download(ctx, path.Join(l.lockPath(), lockOwnerFile), &soap.DefaultDownload)
	if err != nil {
		return o, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return o, err
	}
	return o, nil
}

func (l *dsLock) writeOwner(ctx context.Context) error {
	data, err := json.MarshalIndent(l.owner, "", "  ")
	if err != nil {
		return err
	}
	if err := uploadAtomic(ctx, l.s, l.inv, path.Join(l.lockPath(), lockOwnerFile), data); err != nil {
		return err
	}
	l.renewed = time.Now()
	return nil
}

// check makes sure the lock is still this deploy's (not taken over after
// it expired) and, once half its lifetime has passed, pushes its expiry
// forward. It runs before every write of the state file.
func (l *dsLock) check(ctx context.Context) error {
	held, err := l.readOwner(ctx)
	if err != nil {
		return vcErr("reading the lock "+l.inv.ds.Path(l.lockPath()), err)
	}
	if held.Token != l.owner.Token {
		return fmt.Errorf("%w: the lock %s was taken over by bundle %s %s from %s (pid %d): this deploy ran past its expiry",
			ErrLocked, l.inv.ds.Path(l.lockPath()), held.Bundle, held.Version, held.Host, held.PID)
	}
	if time.Since(l.renewed) < l.ttl/2 {
		return nil
	}
	l.owner.Expires = time.Now().UTC().Truncate(time.Second).Add(l.ttl)
	return l.writeOwner(ctx)
}

func (l *dsLock) remove(ctx context.Context) error {
	fm := object.NewFileManager(l.s.Vim)
	where := l.inv.ds.Path(l.lockPath())
	task, err := fm.DeleteDatastoreFile(ctx, where, l.inv.dc)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil && !fault.Is(err, &types.FileNotFound{}) {
		return vcErr("removing the lock "+where, err)
	}
	return nil
}

// release removes the lock if it is still this deploy's.
func (l *dsLock) release(ctx context.Context) error {
	held, err := l.readOwner(ctx)
	if err != nil || held.Token != l.owner.Token {
		return nil
	}
	return l.remove(ctx)
}
