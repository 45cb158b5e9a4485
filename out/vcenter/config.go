package vcenter

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/vim25/soap"

	"github.com/bdebundle/bundle/out/manifest"
)

// Config is where and how to deploy: the vCenter connection and the
// inventory objects a bundle goes to.
type Config struct {
	// URL of the vCenter SDK endpoint, with user and password. Never
	// printed: use Redacted.
	URL *url.URL
	// Insecure skips TLS verification (GOVC_INSECURE).
	Insecure bool
	// CACerts is a list of PEM files of trusted CAs (GOVC_TLS_CA_CERTS).
	CACerts string

	Target           string // name of the bundle.json target used
	Datacenter       string
	Datastore        string
	Folder           string // VM folder for templates when Library is ""
	Library          string // content library for templates
	ResourcePool     string
	Network          string // network the templates' NICs map to
	DatastorePath    string // datastore folder of the serengeti/ tree
	Registry         string // site registry for images ("" skips images)
	ManagementServer string // BDE management VM ("" skips the guest copy)

	// GuestUsername and GuestPassword log in to the management server's
	// guest (BUNDLE_GUEST_USERNAME, BUNDLE_GUEST_PASSWORD).
	GuestUsername, GuestPassword string

	// WrapTransport, when set, wraps the HTTP transport of every client.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Redacted is the URL with its password replaced by "xxxxx".
func (c Config) Redacted() string {
	if c.URL == nil {
		return ""
	}
	return c.URL.Redacted()
}

// Overrides are values given on the command line; a non-empty field wins
// over the environment and the bundle's target.
type Overrides struct {
	Datacenter       string
	Datastore        string
	Folder           string
	Library          string
	ResourcePool     string
	Network          string
	DatastorePath    string
	Registry         string
	ManagementServer string
}

// ConfigError reports a missing or malformed deploy setting.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(format string, a ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, a...)}
}

// SelectTarget picks the target named name from targets; with name "" the
// first one. A bundle without targets gives an empty target named "".
func SelectTarget(targets []Target, name string) (Target, error) {
	if name == "" {
		if len(targets) == 0 {
			return Target{}, nil
		}
		return targets[0], nil
	}
	var names []string
	for _, t := range targets {
		if t.Name == name {
			return t, nil
		}
		names = append(names, strconv.Quote(t.Name))
	}
	if len(names) == 0 {
		return Target{}, configErr("target %q: the bundle defines no targets", name)
	}
	return Target{}, configErr("target %q is not defined by the bundle (it has %s)", name, strings.Join(names, ", "))
}

// ResolveTarget merges the bundle's target, the govc environment (env looks
// a variable up, e.g. os.Getenv) and flag overrides, in increasing order of
// precedence, into a Config. GOVC_URL is required.
func ResolveTarget(t Target, env func(string) string, flags Overrides) (Config, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	pick := func(bundle, envName, flag string) string {
		if flag != "" {
			return flag
		}
		if v := env(envName); v != "" {
			return v
		}
		return bundle
	}
	c := Config{
		Target:           t.Name,
		Datacenter:       pick(t.Datacenter, "GOVC_DATACENTER", flags.Datacenter),
		Datastore:        pick(t.Datastore, "GOVC_DATASTORE", flags.Datastore),
		Folder:           pick(t.Folder, "GOVC_FOLDER", flags.Folder),
		Library:          pick(t.Library, "BUNDLE_LIBRARY", flags.Library),
		ResourcePool:     pick(t.ResourcePool, "GOVC_RESOURCE_POOL", flags.ResourcePool),
		Network:          pick(t.Network, "GOVC_NETWORK", flags.Network),
		DatastorePath:    pick(t.DatastorePath, "BUNDLE_DATASTORE_PATH", flags.DatastorePath),
		Registry:         pick(t.Registry, "BUNDLE_REGISTRY", flags.Registry),
		ManagementServer: pick(t.ManagementServer, "BUNDLE_MANAGEMENT_SERVER", flags.ManagementServer),
		CACerts:          env("GOVC_TLS_CA_CERTS"),
		GuestUsername:    env("BUNDLE_GUEST_USERNAME"),
		GuestPassword:    env("BUNDLE_GUEST_PASSWORD"),
	}
	if v := env("GOVC_INSECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, configErr("GOVC_INSECURE=%q: want true or false", v)
		}
		c.Insecure = b
	}
	raw := env("GOVC_URL")
	if raw == "" {
		return c, configErr("GOVC_URL is not set: point it at vCenter, e.g. GOVC_URL=https://vcenter.example.com/sdk")
	}
	u, err := soap.ParseURL(raw)
	if err != nil {
		// url errors quote the input, which may hold a password.
		return c, configErr("GOVC_URL is not a valid URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return c, configErr("GOVC_URL scheme %q: want https or http", u.Scheme)
	}
	user := u.User.Username()
	pass, _ := u.User.Password()
	if v := env("GOVC_USERNAME"); v != "" {
		user = v
	}
	if v := env("GOVC_PASSWORD"); v != "" {
		pass = v
	}
	if user == "" {
		return c, configErr("no vCenter user: set GOVC_USERNAME or put it in GOVC_URL")
	}
	u.User = url.UserPassword(user, pass)
	c.URL = u
	if c.DatastorePath != "" {
		c.DatastorePath = strings.Trim(c.DatastorePath, "/")
		if err := manifest.CheckRelPath(c.DatastorePath); err != nil {
			return c, configErr("datastore_path: %v", err)
		}
	}
	return c, nil
}

// redactErr replaces the password of c in err's message; errors.As and
// errors.Is still see the original chain.
func redactErr(c Config, err error) error {
	if err == nil || c.URL == nil {
		return err
	}
	pass, ok := c.URL.User.Password()
	msg := err.Error()
	if !ok || pass == "" || !strings.Contains(msg, pass) {
		return err
	}
	return &redacted{msg: strings.ReplaceAll(msg, pass, "xxxxx"), err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
