# Renders a bundle cookbook's templates outside Chef, the way its recipes
# do: loads attributes/default.rb (as Chef would, with a node of each
# cluster and group), the library, and renders each template with Erubis
# (Chef 11's template engine: Erubis::Eruby evaluated in an Erubis::Context
# holding the resource's variables) and the variables the recipe passes, host names from the placeholder
# lookup (<cluster>-<group>-<i>.localdomain). Prints JSON:
#   { "data": <the cookbook's data>, "overrides": { "c/g": <node['mesos']> },
#     "files": { "<plan path>": "<content>" } }
# Usage: ruby render_cookbook.rb COOKBOOK_DIR COOKBOOK_NAME
require 'erubis'
require 'json'

dir, cb = ARGV
vivify = lambda { Hash.new { |h, k| h[k] = Hash.new(&h.default_proc) } }

# The parts of Chef's attribute-file context default.rb uses.
class AttributeFile
  attr_reader :default, :override, :node
  def initialize(node, vivify)
    @node = node
    @default = vivify.call
    @override = vivify.call
  end
end

def load_attributes(dir, node, vivify)
  ctx = AttributeFile.new(node, vivify)
  path = File.join(dir, 'attributes', 'default.rb')
  ctx.instance_eval(File.read(path), path, 1)
  ctx
end

def plain(h)
  case h
  when Hash then h.each_with_object({}) { |(k, v), o| o[k] = plain(v) }
  when Array then h.map { |v| plain(v) }
  else h
  end
end

def render(dir, name, vars)
  Erubis::Eruby.new(File.read(File.join(dir, 'templates', 'default', name))).evaluate(Erubis::Context.new(vars))
end

load File.join(dir, 'libraries', 'site.rb')

data = plain(load_attributes(dir, {}, vivify).default[cb])
out = { 'data' => data, 'overrides' => {}, 'files' => {} }
data['clusters'].keys.sort.each do |c|
  cl = data['clusters'][c]
  lookup = lambda { |g, n| (0...n).map { |i| "#{c}-#{g}-#{i}.localdomain" } }
  cl['group_order'].each do |g|
    ctx = load_attributes(dir, { 'cluster_name' => c, 'facet_name' => g }, vivify)
    out['overrides']["#{c}/#{g}"] = plain(ctx.override['mesos'])
    site = BundleSite.node_group(data, c, g)
    gd = site['group']
    base = "clusters/#{c}/nodes/#{g}"
    gd['files'].merge(gd['upstream_files']).each do |path, value|
      out['files'][base + path] = render(dir, 'value.erb', value: value)
    end
    gd['attributes'].each do |k, v|
      out['files']["#{base}/etc/mesos-slave/attributes/#{k}"] = render(dir, 'value.erb', value: v + "\n")
    end
    if gd['roles'].include?('mesos_master') || gd['roles'].include?('mesos_slave')
      out['files']["#{base}/etc/mesos/zk"] = render(dir, 'zk.erb', url: BundleSite.zk_url(cl, lookup))
    end
  end
  hp = cl['haproxy']
  out['files']["clusters/#{c}/haproxy/marathons"] = render(dir, 'marathons.erb', marathons: BundleSite.marathons(cl, lookup))
  out['files']["clusters/#{c}/haproxy/haproxy.cfg"] = render(dir, 'haproxy.cfg.erb',
    stats_port: hp['stats_port'], stats_auth: hp['stats_auth'], server_options: hp['server_options'],
    listens: BundleSite.listens(cl, lookup))
end
puts JSON.generate(out)
