package vcenter

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// Session is a logged-in connection to vCenter.
type Session struct {
	cfg    Config
	Vim    *vim25.Client
	rest   *rest.Client
	finder *find.Finder
}

// VCenterError reports a failure talking to vCenter: connection, login,
// a missing inventory object or a fault from an operation.
type VCenterError struct {
	Op  string
	Err error
}

func (e *VCenterError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *VCenterError) Unwrap() error { return e.Err }

func vcErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *VCenterError
	if errors.As(err, &ve) {
		return err
	}
	return &VCenterError{Op: op, Err: err}
}

// Connect logs in to the vCenter of cfg, verifying TLS unless cfg.Insecure.
func Connect(ctx context.Context, cfg Config) (*Session, error) {
	if cfg.URL == nil {
		return nil, configErr("no vCenter URL")
	}
	host := cfg.URL.Host
	sc := soap.NewClient(cfg.URL, cfg.Insecure)
	if cfg.CACerts != "" {
		if err := sc.SetRootCAs(cfg.CACerts); err != nil {
			return nil, configErr("GOVC_TLS_CA_CERTS: %v", err)
		}
	}
	if cfg.WrapTransport != nil {
		sc.Client.Transport = cfg.WrapTransport(sc.Client.Transport)
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, redactErr(cfg, vcErr("connecting to vCenter "+host, err))
	}
	if err := session.NewManager(vc).Login(ctx, cfg.URL.User); err != nil {
		return nil, redactErr(cfg, vcErr(fmt.Sprintf("logging in to vCenter %s as %q", host, cfg.URL.User.Username()), err))
	}
	return &Session{cfg: cfg, Vim: vc, finder: find.NewFinder(vc, false)}, nil
}

// Logout ends the session.
func (s *Session) Logout(ctx context.Context) error {
	if s.rest != nil {
		_ = s.rest.Logout(ctx)
	}
	return session.NewManager(s.Vim).Logout(ctx)
}

// restClient returns the REST (vAPI) client, logging in on first use.
func (s *Session) restClient(ctx context.Context) (*rest.Client, error) {
	if s.rest != nil {
		return s.rest, nil
	}
	rc := rest.NewClient(s.Vim)
	if s.cfg.WrapTransport != nil {
		rc.Client.Client.Transport = s.cfg.WrapTransport(rc.Client.Client.Transport)
	}
	if err := rc.Login(ctx, s.cfg.URL.User); err != nil {
		return nil, redactErr(s.cfg, vcErr("logging in to the vCenter REST API", err))
	}
	s.rest = rc
	return rc, nil
}

// inventory holds the inventory objects a deploy uses.
type inventory struct {
	dc     *object.Datacenter
	ds     *object.Datastore
	pool   *object.ResourcePool // nil until templates need it
	folder *object.Folder       // VM folder for templates (folder mode)
	fpath  string               // inventory path of folder
}

func (s *Session) resolve(ctx context.Context, cfg Config, needPool bool) (*inventory, error) {
	var inv inventory
	var err error
	if cfg.Datacenter == "" {
		inv.dc, err = s.finder.DefaultDatacenter(ctx)
	} else {
		inv.dc, err = s.finder.Datacenter(ctx, cfg.Datacenter)
	}
	if err != nil {
		return nil, vcErr(notFoundHint("datacenter", cfg.Datacenter, "--datacenter or GOVC_DATACENTER"), err)
	}
	s.finder.SetDatacenter(inv.dc)
	if cfg.Datastore == "" {
		inv.ds, err = s.finder.DefaultDatastore(ctx)
	} else {
		inv.ds, err = s.finder.Datastore(ctx, cfg.Datastore)
	}
	if err != nil {
		return nil, vcErr(notFoundHint("datastore", cfg.Datastore, "--datastore or GOVC_DATASTORE"), err)
	}
	if needPool {
		if cfg.ResourcePool == "" {
			inv.pool, err = s.finder.DefaultResourcePool(ctx)
		} else {
			inv.pool, err = s.finder.ResourcePool(ctx, cfg.ResourcePool)
		}
		if err != nil {
			return nil, vcErr(notFoundHint("resource pool", cfg.ResourcePool, "--resource-pool or GOVC_RESOURCE_POOL"), err)
		}
		if cfg.Network != "" {
			if _, err := s.finder.Network(ctx, cfg.Network); err != nil {
				return nil, vcErr(notFoundHint("network", cfg.Network, "--network or GOVC_NETWORK"), err)
			}
		}
	}
	if needPool && cfg.Library == "" {
		folders, err := inv.dc.Folders(ctx)
		if err != nil {
			return nil, vcErr("reading the folders of datacenter "+inv.dc.InventoryPath, err)
		}
		inv.folder = folders.VmFolder
		inv.fpath = inv.dc.InventoryPath + "/vm"
		if cfg.Folder != "" {
			p := cfg.Folder
			if !strings.HasPrefix(p, "/") {
				p = path.Join(inv.dc.InventoryPath, "vm", p)
			}
			inv.folder, err = s.finder.Folder(ctx, p)
			if err != nil {
				return nil, vcErr(notFoundHint("folder", cfg.Folder, "--folder or GOVC_FOLDER; create it with: govc folder.create "+p), err)
			}
			inv.fpath = p
		}
	}
	return &inv, nil
}

func notFoundHint(kind, name, how string) string {
	if name == "" {
		return fmt.Sprintf("finding the default %s (name one with %s)", kind, how)
	}
	return fmt.Sprintf("finding %s %q (set with %s)", kind, name, how)
}

// httpStatus extracts the status of an HTTP transfer error ("404 Not Found").
func httpStatus(err error) int {
	if err == nil {
		return 0
	}
	msg := err.Error()
	for i := 0; i+3 <= len(msg); i++ {
		if i > 0 && msg[i-1] != ' ' && msg[i-1] != '(' {
			continue
		}
		c := msg[i : i+3]
		if c[0] >= '1' && c[0] <= '5' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' && c[2] <= '9' &&
			(i+3 == len(msg) || msg[i+3] == ' ') {
			return int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
		}
	}
	return 0
}
