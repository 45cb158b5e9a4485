#
# Library:: site
#
# Reads the bundle's per-cluster, per-group data (attributes/default.rb) and
# computes the host-dependent values: the ZooKeeper ensemble, the marathons
# list and the HAProxy servers. Host names come from the definition when it
# declares a group's hosts, otherwise from the lookup the recipe passes
# (a Chef search that waits for every node of the group at converge time).
# Plain Ruby 1.9: the bundle's tests read it with the Ruby 1.9 grammar and
# run it outside Chef.
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
        raise "bundle: node group #{s['group']} has no node #{s['index']} for listen #{l['name']}" if h.nil?
        addrs << "#{h}:#{s['port']}"
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

  # A lookup for hosts: the FQDNs on the management network (hadoop_common's
  # fqdn_of_mgt_network) of every node of a node group of this cluster,
  # ordered by facet_index. It asks cluster_service_discovery's
  # providers_for for all the group's instances, not one, so it waits as
  # that helper does (a search every 5 s, up to 30 minutes, failing when BDE
  # sets the cluster's abort flag) until the Chef search has indexed every
  # node; a first converge thus never writes a ZooKeeper ensemble, marathons
  # list or HAProxy server list with only the nodes indexed so far. When the
  # nodes never all appear, or one lacks its FQDN, the run fails naming the
  # group, the count and the indexes found. Each group is searched once per
  # lookup.
  def search_lookup(recipe)
    found = {}
    lambda do |g, instances|
      found[g] ||= group_fqdns(recipe, g, instances)
    end
  end

  # The FQDNs of nodes 0...instances of node group g (see search_lookup).
  def group_fqdns(recipe, g, instances)
    want = instances.to_i
    what = "node group #{g} of cluster #{recipe.node[:cluster_name]}"
    begin
      nodes = recipe.providers_for(what, { 'facet_name' => g }, true, want)
    rescue RuntimeError => e
      raise "bundle: the Chef search did not return the #{want} nodes of #{what} (it waits up to 1800 s and stops at BDE's abort flag), so their host names cannot be written: #{e.message}"
    end
    by_index = {}
    (nodes || []).each do |s|
      i = s['facet_index']
      by_index[i.to_i] ||= s unless i.nil?
    end
    missing = (0...want).reject { |i| by_index.key?(i) }
    unless missing.empty?
      raise "bundle: #{what} has #{want} nodes, the Chef search found facet_index #{by_index.keys.sort.join(', ')}; missing #{missing.join(', ')}"
    end
    (0...want).map do |i|
      fqdn = recipe.fqdn_of_mgt_network(by_index[i]).to_s
      raise "bundle: node #{i} of #{what} has no FQDN on the management network yet" if fqdn.empty?
      fqdn
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
