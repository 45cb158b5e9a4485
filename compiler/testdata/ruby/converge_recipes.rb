# Runs the bundle cookbook's recipes for one node with a stand-in for the few
# parts of the Chef 11 recipe DSL they use (Chef itself cannot be installed
# here): resources are recorded in a collection, blocks are evaluated on the
# resource as Chef does, and the mesos cookbook's resources the recipes look
# for are declared between before_mesos and after_mesos, as the run list
# orders them. Then "converges": each template/cookbook_file resource whose
# action is not :nothing writes its file, the last writer winning, rendered
# with Erubis (Chef 11's template engine) from the bundle cookbook (or marked "upstream" when it is
# still the mesos cookbook's). File.exist?, File.symlink? and Dir.glob see absolute paths
# below ROOT (the node's file system). Prints JSON: the files, and the
# steps a converge takes in resource-collection order (packages installed,
# directories made, files written or deleted), which the node simulation
# replays on a scratch root. With PANTRY_TEMPLATES set (serengeti-pantry's
# mesos/templates/default), the files the mesos cookbook still writes are
# rendered from its templates in the steps.
#
# The bundle recipes before the mesos cookbook's are those of the
# <cb>_before_mesos role in ROLES_DIR (the bundle's roles), in its run-list
# order; without ROLES_DIR, install and before_mesos.
#
# Usage: ruby converge_recipes.rb COOKBOOK_DIR COOKBOOK_NAME CLUSTER GROUP ROOT [ROLES_DIR]
# (BUNDLE_TEST_INDEXED: which nodes the Chef search has indexed, see
# providers_for).
require 'erubis'
require 'json'
require 'net/http' # libraries/upgrade.rb, before Dir.glob is redirected

DIR, CB, CLUSTER, GROUP, ROOT, ROLES = ARGV
# BUNDLE_TEST_INDEXED: JSON { group: [[facet_index...] per search...] }.
INDEXED = JSON.parse(ENV['BUNDLE_TEST_INDEXED'] || '{}')
# BUNDLE_TEST_NO_FQDN: JSON { group: [facet_index...] } of nodes without an FQDN.
NO_FQDN = JSON.parse(ENV['BUNDLE_TEST_NO_FQDN'] || '{}')

class << File
  alias_method :real_exist?, :exist?
  alias_method :real_symlink?, :symlink?
  def exist?(p)
    real_exist?(p.to_s.start_with?('/') ? ROOT + p.to_s : p)
  end

  def symlink?(p)
    real_symlink?(p.to_s.start_with?('/') ? ROOT + p.to_s : p)
  end
end
class << Dir
  alias_method :real_glob, :glob
  def glob(p, *rest)
    return real_glob(p, *rest) unless p.start_with?('/')
    real_glob(ROOT + p, *rest).map { |x| x.sub(ROOT, '') }
  end
end

module Chef
  Config = { file_cache_path: '/var/chef/cache' }
end
ACTION_INSTALL_PACKAGE = 'Installing package'.freeze

class FakeResource
  attr_reader :type, :name, :props, :notifications
  def initialize(type, name, cookbook)
    @type = type
    @name = name
    @props = { cookbook: cookbook }
    @notifications = []
    @action = nil
  end

  def to_s
    "#{@type}[#{@name}]"
  end

  def action(a = nil)
    a.nil? ? @action : (@action = a)
  end

  def notifies(action, target, timing = :delayed)
    @notifications << [action.to_s, target, timing.to_s]
  end

  def variables(v = nil)
    v.nil? ? @props[:variables] : (@props[:variables] = v)
  end

  def cookbook(c = nil)
    raise "cookbook wants a String, got #{c.class}" unless c.nil? || c.is_a?(String)
    c.nil? ? @props[:cookbook] : (@props[:cookbook] = c)
  end

  # ruby_block's block: kept, not run (the wait it holds is tested with
  # a loopback master by upgrade_wait.rb).
  def block(&b)
    b.nil? ? @props[:block] : (@props[:block] = b)
  end

  %w(source owner group mode recursive command supports code version arch allow_downgrade).each do |m|
    define_method(m) { |*args| args.empty? ? @props[m.to_sym] : (@props[m.to_sym] = args.size == 1 ? args[0] : args) }
  end
end

class FakeCollection
  include Enumerable
  def initialize
    @r = []
  end

  def <<(r)
    @r << r
  end

  def each(&b)
    @r.each(&b)
  end
end

RunContext = Struct.new(:resource_collection)

class FakeRecipe
  attr_reader :node, :cookbook_name, :run_context, :included, :searches, :polls
  def initialize(node, cookbook_name, run_context, hosts)
    @node = node
    @cookbook_name = cookbook_name
    @run_context = run_context
    @hosts = hosts
    @included = []
    @searches = []
    @polls = {}
  end

  %w(template directory link file package yum_package cookbook_file service execute bash remote_file ruby_block).each do |t|
    define_method(t) do |name, &blk|
      r = FakeResource.new(t, name, @cookbook_name.to_s)
      r.instance_eval(&blk) if blk
      @run_context.resource_collection << r
      r
    end
  end

  def include_recipe(name)
    @included << name
  end

  # hadoop_common's progress reporting.
  def set_bootstrap_action(*_args); end

  # cluster_service_discovery's providers_for: the nodes of the cluster
  # matching conditions, sorted by facet_index; with wait, it searches again
  # every 5 s until at least num nodes match and raises the helper's message
  # once more than 1800 s have passed (simulated time). By default the
  # search has indexed every node of the group; INDEXED[group] lists, per
  # search, the facet indexes indexed so far (the last list repeating).
  def providers_for(name, conditions = {}, wait = true, num = 1, _in_block = false)
    g = conditions['facet_name']
    @searches << g
    rounds = INDEXED[g] || [(0...(@hosts[g] || []).size).to_a]
    polls = 0
    loop do
      indexes = rounds[[polls, rounds.size - 1].min]
      polls += 1
      @polls[g] = (@polls[g] || 0) + 1
      found = indexes.sort.map { |i| { 'facet_name' => g, 'facet_index' => i, 'fqdn' => "#{CLUSTER}-#{g}-#{i}.localdomain" } }
      return found if !wait || found.size >= num
      if (polls - 1) * 5 > 1800
        raise "Can't find any nodes which provide #{name}. Did any node provide #{name}? Or is the Chef Solr Server down?"
      end
    end
  end

  # hadoop_common's fqdn_of_mgt_network; NO_FQDN[group] lists the facet
  # indexes whose node has no FQDN yet.
  def fqdn_of_mgt_network(server)
    (NO_FQDN[server['facet_name']] || []).include?(server['facet_index']) ? nil : server['fqdn']
  end

  def run(recipe)
    instance_eval(File.read(File.join(DIR, 'recipes', recipe + '.rb')), recipe + '.rb', 1)
  end
end

# node: automatic/normal attributes plus what attributes/default.rb sets.
vivify = lambda { Hash.new { |h, k| h[k] = Hash.new(&h.default_proc) } }
class AttributeFile
  attr_reader :default, :override, :node
  def initialize(node, vivify)
    @node = node
    @default = vivify.call
    @override = vivify.call
  end
end
# In a method, so the file sees no local variable of this script.
def load_attributes(vivify)
  ctx = AttributeFile.new({ 'cluster_name' => CLUSTER, 'facet_name' => GROUP }, vivify)
  path = File.join(DIR, 'attributes', 'default.rb')
  ctx.instance_eval(File.read(path), path, 1)
  ctx
end
attrs = load_attributes(vivify)

def deep_merge(a, b)
  a.merge(b) { |_k, x, y| x.is_a?(Hash) && y.is_a?(Hash) ? deep_merge(x, y) : y }
end
data = JSON.parse(JSON.generate(attrs.default[CB]))
mesos_defaults = { 'slave' => { 'work_dir' => '/tmp/mesos' } }
node = {
  'cluster_name' => CLUSTER, 'facet_name' => GROUP, CB => data,
  'mesos' => deep_merge(mesos_defaults, JSON.parse(JSON.generate(attrs.override['mesos'])))
}
class << node
  def [](k)
    super(k.to_s)
  end

  def normal
    @normal ||= {}
  end
end

load File.join(DIR, 'libraries', 'site.rb')
load File.join(DIR, 'libraries', 'upgrade.rb')
cl = data['clusters'][CLUSTER]
hosts = {}
cl['group_order'].each do |g|
  hosts[g] = (0...cl['groups'][g]['instances']).map { |i| "#{CLUSTER}-#{g}-#{i}.localdomain" }
end
roles = cl['groups'][GROUP]['roles']
master = roles.include?('mesos_master')
slave = roles.include?('mesos_slave')

rc = RunContext.new(FakeCollection.new)
recipe = FakeRecipe.new(node, CB.to_sym, rc, hosts)
before = %w(install before_mesos)
if ROLES
  role = JSON.parse(File.read(File.join(ROLES, "#{CB}_before_mesos.json")))
  before = role['run_list'].map { |e| e[/\Arecipe\[#{CB}::(.*)\]\z/, 1] }.compact
end
before.each { |r| recipe.run(r) } if master || slave

# The mesos cookbook's resources the bundle's recipes touch, as
# mesos::install, ::master, ::slave and ::docker declare them.
upstream = lambda do |type, name|
  r = FakeResource.new(type, name, 'mesos')
  rc.resource_collection << r
  r
end
init_job = lambda do |svc, action|
  t = upstream.call('template', "/etc/init/#{svc}.conf")
  t.source("#{svc}.conf.erb")
  t.variables(action: action)
  t
end
zk_hosts = cl['group_order'].select { |g| cl['groups'][g]['roles'].include?('zookeeper') }.flat_map { |g| hosts[g] }
zk_vars = { zookeeper_server_list: zk_hosts, zookeeper_port: node['mesos']['zookeeper_port'], zookeeper_path: node['mesos']['zookeeper_path'] }
if master || slave
  # mesos::install
  %w(unzip libcurl).each { |p| upstream.call('yum_package', p) }
  upstream.call('package', 'mesos')
  upstream.call('package', 'chronos') if roles.include?('mesos_chronos')
  upstream.call('package', 'marathon') if roles.include?('mesos_marathon')
  svcs = %w(mesos-master mesos-slave)
  svcs << 'chronos' if roles.include?('mesos_chronos')
  svcs << 'marathon' if roles.include?('mesos_marathon')
  svcs.each { |svc| init_job.call(svc, 'stop') }
end
if master
  %w(/etc/default/mesos /etc/default/mesos-master).each { |f| upstream.call('template', f).source('mesos.erb') }
  %w(quorum logging_level).each { |k| upstream.call('execute', "/etc/mesos-master/#{k}").notifies(:run, 'bash[restart-mesos-master]') }
  zk = upstream.call('template', '/etc/mesos/zk')
  zk.source('zk.erb')
  zk.variables(zk_vars)
  svcs = %w(mesos-master)
  svcs << 'chronos' if roles.include?('mesos_chronos')
  svcs << 'marathon' if roles.include?('mesos_marathon')
  svcs.each { |svc| init_job.call(svc, 'start') }
  svcs.each { |svc| upstream.call('bash', "restart-#{svc}").action(:nothing) }
end
if slave
  if roles.include?('mesos_docker')
    %w(epel-release docker-io).each { |p| upstream.call('package', p) }
    upstream.call('bash', 'config docker containerizer for mesos')
    upstream.call('service', 'docker')
    upstream.call('package', 'python-setuptools')
    upstream.call('remote_file', '/var/lib/mesos/executors/docker')
    upstream.call('remote_file', '/var/chef/cache/mesos.egg')
    upstream.call('bash', 'install-mesos-egg')
  end
  %w(/etc/default/mesos /etc/default/mesos-slave).each { |f| upstream.call('template', f).source('mesos.erb') }
  upstream.call('execute', '/etc/mesos-slave/logging_level')
  zk = upstream.call('template', '/etc/mesos/zk')
  zk.source('zk.erb')
  zk.variables(zk_vars)
  env = upstream.call('template', '/usr/local/etc/mesos/mesos-slave-env.sh')
  env.source('mesos-slave-env.sh.erb')
  env.variables(zk_vars.merge(logs_dir: '/var/log/mesos', work_dir: '/tmp/mesos', isolation: node['mesos']['isolation']))
  init_job.call('mesos-slave', 'start')
  upstream.call('bash', 'restart-mesos-slave').action(:nothing)
end
recipe.run('after_mesos') if master || slave
recipe.run('haproxy')

# Chef resolves string notifications when the run converges and fails on
# one whose target is not in the resource collection.
names = {}
rc.resource_collection.each { |r| names[r.to_s] = true }
rc.resource_collection.each do |r|
  r.notifications.each do |_action, target, _timing|
    next if names[target]
    raise "resource #{r} is configured to notify resource #{target}, but #{target} cannot be found in the resource collection"
  end
end

# Chef 11 renders a template with Erubis::Eruby in an Erubis::Context
# holding the resource's variables.
def render(dir, name, vars)
  Erubis::Eruby.new(File.read(File.join(dir, 'templates', 'default', name))).evaluate(Erubis::Context.new(vars || {}))
end

# The mesos cookbook's own templates, rendered as Chef 11 renders them.
def render_pantry(dir, name, vars)
  Erubis::Eruby.new(File.read(File.join(dir, name))).evaluate(Erubis::Context.new(vars || {}))
end

pantry = ENV['PANTRY_TEMPLATES']
files = {}
modes = {}
resources = []
steps = []
rc.resource_collection.each do |r|
  resources << { 'id' => r.to_s, 'cookbook' => r.props[:cookbook], 'action' => r.action.to_s, 'notifications' => r.notifications }
  next if r.action == :nothing
  if r.action == :delete
    steps << { 'op' => 'delete', 'path' => r.name } if %w(file link).include?(r.type)
    next
  end
  case r.type
  when 'package', 'yum_package'
    steps << { 'op' => 'package', 'name' => r.name, 'version' => r.props[:version].to_s, 'arch' => r.props[:arch].to_s }
  when 'directory'
    steps << { 'op' => 'mkdir', 'path' => r.name }
  when 'ruby_block'
    steps << { 'op' => 'ruby_block', 'name' => r.name }
  when 'template'
    files[r.name] = r.props[:cookbook] == CB ? render(DIR, r.props[:source], r.props[:variables]) : 'upstream'
    modes[r.name] = [r.props[:owner], r.props[:mode]]
    content = files[r.name]
    if content == 'upstream'
      content = pantry && r.props[:source] ? render_pantry(pantry, r.props[:source], r.props[:variables]) : nil
    end
    steps << { 'op' => 'write', 'path' => r.name, 'content' => content, 'cookbook' => r.props[:cookbook] }
  when 'cookbook_file'
    files[r.name] = File.read(File.join(DIR, 'files', 'default', r.props[:source]))
    modes[r.name] = [r.props[:owner], r.props[:mode]]
    steps << { 'op' => 'write', 'path' => r.name, 'content' => files[r.name], 'cookbook' => r.props[:cookbook] }
  end
end
puts JSON.generate('files' => files, 'modes' => modes, 'resources' => resources, 'steps' => steps,
                   'included' => recipe.included, 'searches' => recipe.searches.uniq.sort, 'polls' => recipe.polls)
