package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/bdebundle/bundle/hcl/sitedef"
)

// render renders every text file of the bundle into p.Files, one renderer
// per output family: bde (bde.go), mesos (mesos.go), marathon
// (marathon.go), chronos (chronos.go), haproxy (haproxy.go) and chef
// (chef.go). Each returns its
// files. The check pass has run: rendering reports nothing, and takes the
// hosts each app may run on and each app's image reference from it.
func (c *compiler) render(p *Plan, repos map[*sitedef.Repo]*RepoPlan) {
	hostPorts := map[*sitedef.App][]int{}
	for _, cl := range c.d.Clusters {
		maps.Copy(hostPorts, c.hostPorts(cl))
	}
	bde := c.renderBDE(repos)
	mesos := c.renderMesos()
	marathon := c.renderMarathon(hostPorts)
	chronos := c.renderChronos()
	haproxy, cookbookHAProxy := c.renderHAProxy(c.allowed, hostPorts)
	c.planDockerArchives(p)
	chef := c.renderChef(mesos, cookbookHAProxy)
	p.Files = slices.Concat(bde, mesos, marathon, chronos, haproxy, chef)
}

// files are the files one renderer writes.
type files []*File

// add adds a rendered file of mode 0644.
func (fs *files) add(path string, data []byte, sensitive bool) {
	*fs = append(*fs, &File{Path: path, Mode: 0o644, Data: data, Sensitive: sensitive})
}

// exec adds an executable rendered file (a script, mode 0755).
func (fs *files) exec(path string, data []byte, sensitive bool) {
	*fs = append(*fs, &File{Path: path, Mode: 0o755, Data: data, Sensitive: sensitive})
}

// marshal renders v as 2-space indented JSON with a final newline, without
// HTML escaping.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("rendering JSON: %v", err)) // only plain data is marshalled
	}
	return b.Bytes()
}
