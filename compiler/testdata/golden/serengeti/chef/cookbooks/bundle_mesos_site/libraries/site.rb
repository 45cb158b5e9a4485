#
# Library:: site
#
# Reads the bundle's per-cluster, per-group data (attributes/default.rb) and
# computes the host-dependent values: the ZooKeeper ensemble, the marathons
# list and the HAProxy servers. Host names come from the definition when it
# declares a group's hosts, otherwise from the lookup the recipe passes
# (a Chef search of the group's nodes at converge time). Plain Ruby 1.9: the
# bundle's tests run it with Ruby's ERB outside Chef.
#
module BundleSite
  module_function

  # The data of the node's cluster and node group: { 'cluster' => ...,
  # 'group' => ..., 'group_name' => ... }. Raises when the bundle does not
  # know them, so a cluster created under another name fails loudly instead
  # of coming up without its settings.
  def node_group(data, cluster_name, facet_name)
    clusters = data['clusters'] || {}
    cl = clusters[cluster_name.to_s]
    if cl.nil?
      raise "bundle #{data['bundle']} #{data['version']} has no cluster #{cluster_name.inspect} (it has #{clusters.keys.sort.join(', ')}); create the cluster with the name of its spec"
    end
    g = cl['groups'][facet_name.to_s]
    if g.nil?
      raise "cluster #{cluster_name} of bundle #{data['bundle']} has no node group #{facet_name.inspect} (it has #{cl['group_order'].join(', ')})"
    end
    { 'cluster' => cl, 'group' => g, 'group_name' => facet_name.to_s }
  end

  # The host names of node group g: as declared, else lookup.call(g, instances).
  def hosts(cl, g, lookup)
    gd = cl['groups'][g]
    declared = gd['hosts'] || []
    return declared.to_a unless declared.empty?
    lookup.call(g, gd['instances']).to_a
  end

  # The hosts of every node group having role, in the definition's order.
  def role_hosts(cl, role, lookup)
    out = []
    cl['group_order'].each do |g|
      out.concat(hosts(cl, g, lookup)) if cl['groups'][g]['roles'].include?(role)
    end
    out
  end

  # The content of /etc/mesos/zk without its newline.
  def zk_url(cl, lookup)
    z = cl['zookeeper']
    list = role_hosts(cl, 'zookeeper', lookup).map { |h| "#{h}:#{z['port']}" }
    'zk://' + list.join(',') + '/' + z['path']
  end

  # The lines of /etc/haproxy-marathon-bridge/marathons: host:port of every
  # master and slave.
  def marathons(cl, lookup)
    hs = role_hosts(cl, 'mesos_master', lookup) + role_hosts(cl, 'mesos_slave', lookup)
    hs.uniq.map { |h| "#{h}:#{cl['marathon_port']}" }
  end

  # The listen blocks of haproxy.cfg: name, port and servers (name, addr).
  # Servers are numbered down from their count, as the bridge numbers them.
  def listens(cl, lookup)
    cl['haproxy']['listens'].map do |l|
      addrs = []
      l['servers'].each do |s|
        h = hosts(cl, s['group'], lookup)[s['index']]
        addrs << "#{h}:#{s['port']}" unless h.nil?
      end
      servers = []
      addrs.each_with_index do |a, j|
        servers << { 'name' => "#{l['prefix']}-#{addrs.size - j}", 'addr' => a }
      end
      { 'name' => l['name'], 'port' => l['port'], 'servers' => servers }
    end
  end
end

module BundleSite
  module_function

  # A lookup for hosts: the nodes of a node group of this cluster, found with
  # the cluster_service_discovery search helper (sorted by facet_index), by
  # the FQDN of their management network (hadoop_common).
  def search_lookup(recipe)
    lambda do |g, _instances|
      nodes = recipe.providers_for("node group #{g}", { 'facet_name' => g }, true, 1)
      nodes.map { |s| recipe.fqdn_of_mgt_network(s) }
    end
  end

  # The resources of the run so far, by their "type[name]" string.
  def resources_by_name(run_context)
    out = {}
    run_context.resource_collection.each do |r|
      (out[r.to_s] ||= []) << r
    end
    out
  end
end
