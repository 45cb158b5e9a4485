# Converges the cookbook's docker_images recipe for one node outside Chef,
# with a stand-in for the Chef 11 calls it makes (directory, remote_file with
# source/checksum/not_if, ruby_block with block/not_if, Mixlib::ShellOut)
# and a stand-in docker whose state persists in STATE between runs:
# `docker load -i FILE` tags from the archive's repositories file (read with
# the real tar) as Docker 1.3's load does; `docker inspect REF` prints what
# Docker 1.3's CmdLookup prints for an image. remote_file copies the file the
# URL maps to (URLS, a JSON object) and, like Chef's, refuses content whose
# sha256 is not the checksum. Resources run in order, each skipped when its
# not_if block is true. Prints JSON: downloads, loads, tags, and the error
# that stopped the run ("" when none).
#
# Usage: ruby docker_converge.rb COOKBOOK_DIR COOKBOOK_NAME CLUSTER GROUP STATE URLS
require 'digest/sha2'
require 'fileutils'
require 'json'

dir, cb, cluster, group, state_path, urls_json = ARGV
urls = JSON.parse(urls_json)
state = File.exist?(state_path) ? JSON.parse(File.read(state_path)) : { 'tags' => {} }
stats = { 'downloads' => 0, 'loads' => 0 }
ROOT = File.join(File.dirname(state_path), 'root')

# Chef's attribute-file context: default, override and the node.
class AttributeFile
  attr_reader :default, :override, :node
  def initialize(node)
    vivify = lambda { Hash.new { |h, k| h[k] = Hash.new(&h.default_proc) } }
    @node = node
    @default = vivify.call
    @override = vivify.call
  end

  # Evaluated in a method: the file's locals stay its own.
  def load_file(path)
    instance_eval(File.read(path), path, 1)
  end
end

node_attrs = { 'cluster_name' => cluster, 'facet_name' => group }
attrs = AttributeFile.new(node_attrs)
Dir.glob(File.join(dir, 'attributes', '*.rb')).sort_by { |f| File.basename(f) == 'default.rb' ? '' : f }.each do |f|
  attrs.load_file(f)
end

# node[...] with Chef's symbol-or-string keys.
class FakeNode
  def initialize(h)
    @h = h
  end

  def [](k)
    @h[k.to_s]
  end
end
node = FakeNode.new(attrs.default.merge(node_attrs))

module Mixlib
  # The stand-in docker behind Mixlib::ShellOut.
  class ShellOut
    class << self
      attr_accessor :docker
    end
    attr_reader :exitstatus, :stdout, :stderr
    def initialize(*argv)
      @argv = argv.reject { |a| a.is_a?(Hash) }
    end

    def run_command
      ok, @stdout, @stderr = ShellOut.docker.call(@argv)
      @exitstatus = ok ? 0 : 1
      self
    end
  end
end

Mixlib::ShellOut.docker = lambda do |argv|
  raise "not docker: #{argv.inspect}" unless argv[0] == 'docker'
  case argv[1]
  when 'inspect'
    id = state['tags'][argv[2]]
    if id
      [true, JSON.generate([{ 'Id' => id, 'Parent' => '', 'ContainerConfig' => { 'Entrypoint' => nil }, 'Os' => 'linux' }]), '']
    else
      [false, '[]', "Error: No such image or container: #{argv[2]}"]
    end
  when 'load'
    raise "docker load #{argv.inspect}" unless argv[2] == '-i'
    stats['loads'] += 1
    repos = JSON.parse(IO.popen(['tar', '-xOf', argv[3], 'repositories'], &:read))
    repos.each { |r, ts| ts.each { |t, id| state['tags']["#{r}:#{t}"] = id } }
    [true, '', '']
  else
    [false, '', "unknown docker command #{argv.inspect}"]
  end
end

# A resource: its attributes, its guard, its block.
class FakeResource
  attr_reader :type, :name, :props, :guard, :code
  def initialize(type, name)
    @type = type
    @name = name
    @props = {}
  end

  %w(owner group mode recursive source checksum).each do |m|
    define_method(m) { |v| @props[m.to_sym] = v }
  end

  def not_if(&b)
    @guard = b
  end

  def block(&b)
    @code = b
  end
end

# The recipe's DSL.
class FakeRecipe
  attr_reader :node, :cookbook_name, :resources
  def initialize(node, cookbook_name)
    @node = node
    @cookbook_name = cookbook_name
    @resources = []
  end

  %w(directory remote_file ruby_block).each do |t|
    define_method(t) do |name, &blk|
      r = FakeResource.new(t, name)
      r.instance_eval(&blk) if blk
      @resources << r
      r
    end
  end

  def run(path)
    instance_eval(File.read(path), path, 1)
  end
end

load File.join(dir, 'libraries', 'site.rb')
load File.join(dir, 'libraries', 'docker_images.rb')
# The node's paths live below ROOT.
module BundleDocker
  class << self
    alias_method :node_load, :load
    def load(run, im, archive, path)
      node_load(run, im, archive, File.join(ROOT, path))
    end
  end
end
recipe = FakeRecipe.new(node, cb.to_sym)
error = ''
begin
  recipe.run(File.join(dir, 'recipes', 'docker_images.rb'))
  recipe.resources.each do |r|
    next if r.guard && r.guard.call
    local = File.join(ROOT, r.name)
    case r.type
    when 'directory'
      FileUtils.mkdir_p(local)
    when 'remote_file'
      src = urls[r.props[:source]] or raise "no file at #{r.props[:source]}"
      sum = Digest::SHA256.file(src).hexdigest
      raise "Checksum on resource (#{r.props[:checksum]}) does not match checksum on content (#{sum})" if sum != r.props[:checksum]
      FileUtils.mkdir_p(File.dirname(local))
      FileUtils.cp(src, local)
      stats['downloads'] += 1
    when 'ruby_block'
      r.code.call
    end
  end
rescue RuntimeError => e
  error = e.message
end
File.write(state_path, JSON.generate(state))
print JSON.generate(stats.merge('tags' => state['tags'], 'error' => error))
