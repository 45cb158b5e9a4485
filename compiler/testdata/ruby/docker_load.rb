# Runs the cookbook's BundleDocker module (libraries/docker_images.rb) outside
# Chef against a stand-in docker: `docker load -i FILE` reads the archive's
# repositories file (with the real tar) and tags as Docker 1.3's load does;
# `docker inspect REF` prints what Docker 1.3's CmdLookup prints for an image
# ("Id", "ContainerConfig" with its "Entrypoint", ...), or fails.
#
# Usage: ruby docker_load.rb LIBRARY TMPDIR; prints a JSON summary.
require 'json'
require 'digest'
require 'fileutils'

lib, tmp = ARGV
load lib

tags = {}
loads = 0
docker = lambda do |argv|
  case argv[1]
  when 'inspect'
    id = tags[argv[2]]
    if id
      [true, JSON.generate([{ 'Id' => id, 'Parent' => '', 'ContainerConfig' => { 'Entrypoint' => nil }, 'Config' => { 'Cmd' => ['nginx'] }, 'Os' => 'linux' }]), '']
    else
      [false, '[]', "Error: No such image or container: #{argv[2]}"]
    end
  when 'load'
    loads += 1
    repos = JSON.parse(IO.popen(['tar', '-xOf', argv[3], 'repositories'], &:read))
    repos.each { |r, ts| ts.each { |t, id| tags["#{r}:#{t}"] = id } }
    [true, '', '']
  else
    [false, '', "unknown command #{argv.inspect}"]
  end
end

def archive(dir, id, repo, tag)
  src = File.join(dir, 'src')
  FileUtils.rm_rf(src)
  FileUtils.mkdir_p(File.join(src, id))
  File.write(File.join(src, id, 'VERSION'), '1.0')
  File.write(File.join(src, id, 'json'), JSON.generate('id' => id, 'created' => '2015-01-20T10:00:00Z'))
  File.write(File.join(src, id, 'layer.tar'), "\0" * 1024)
  File.write(File.join(src, 'repositories'), JSON.generate(repo => { tag => id }))
  out = File.join(dir, "#{id}.tar")
  system('tar', '-C', src, '-cf', out, id, 'repositories') || raise('tar failed')
  out
end

id = 'a' * 64
im = { 'name' => 'nginx', 'repository' => 'library/nginx', 'tag' => 'sha256-' + 'b' * 64, 'url' => 'https://bde/docker/nginx.tar' }
path = archive(tmp, id, im['repository'], im['tag'])
facts = { 'sha256' => Digest::SHA256.file(path).hexdigest, 'image_id' => id }
res = {}
res['first_loaded'] = BundleDocker.loaded?(docker, im, facts)
BundleDocker.load(docker, im, facts, path) unless res['first_loaded']
res['first_loads'] = loads
res['after_loaded'] = BundleDocker.loaded?(docker, im, facts)
# The second converge: the recipe's guards skip the download and the load.
BundleDocker.load(docker, im, facts, path) unless BundleDocker.loaded?(docker, im, facts)
res['second_loads'] = loads

tags.clear
begin
  BundleDocker.load(docker, im, facts.merge('sha256' => 'c' * 64), path)
  res['corrupt'] = 'loaded'
rescue RuntimeError => e
  res['corrupt'] = e.message
end
other = archive(tmp, 'd' * 64, im['repository'], im['tag'])
begin
  BundleDocker.load(docker, im, { 'sha256' => Digest::SHA256.file(other).hexdigest, 'image_id' => id }, other)
  res['wrong_id'] = 'loaded'
rescue RuntimeError => e
  res['wrong_id'] = e.message
end
begin
  BundleDocker.archive_for(im, {})
  res['missing'] = 'found'
rescue RuntimeError => e
  res['missing'] = e.message
end
print JSON.generate(res)
