package compiler

import (
	def "github.com/bdebundle/bundle/hcl"
)

// render runs the cross-artifact checks and renders every text artifact of
// the bundle into p.Files.
func (c *compiler) render(p *Plan, repos map[*def.Repo]*RepoPlan) {
	c.checkRolePackages()
	c.renderManifest(p, repos)
	c.renderSpecs(p)
	c.checkRegistry()
	clusters := map[string]any{}
	bridges := map[string]*File{}
	sensitive := false
	for _, cl := range c.d.Clusters {
		c.checkClusterAttrs(cl)
		c.checkZookeeper(cl)
		c.checkPorts(cl)
		c.checkMesosFlags(cl)
		c.checkExecPaths(cl)
		c.renderClusterSpec(p, cl)
		for _, g := range cl.NodeGroups {
			c.renderNodeGroup(p, cl, g)
		}
		hostPorts := c.hostPorts(cl)
		allowed := map[*def.App][]host{}
		for _, a := range c.appsOf(cl) {
			hs, ok := c.checkConstraints(a)
			if ok {
				c.checkPlacement(a, hs, bridged(a))
			}
			allowed[a] = hs
			c.renderApp(p, a, hostPorts[a])
		}
		hp, sens, bridge := c.renderHAProxy(p, cl, allowed, hostPorts)
		sensitive = sensitive || sens
		bridges[cl.Name] = &File{Data: bridge, Sensitive: sens}
		c.checkHAProxy(cl)
		clusters[cl.Name] = c.chefCluster(p, cl, hp)
	}
	c.planDockerArchives(p)
	c.renderCookbook(p, clusters, sensitive, bridges)
}
