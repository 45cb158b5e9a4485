#
# Library:: docker_images
#
# Loads the bundle's docker load archives into a Docker that cannot pull by
# digest (docker-io before 1.6 speaks only the v1 registry protocol). The
# recipe docker_images downloads each archive from the management server;
# this module checks the file's sha256, runs docker load, and checks that
# the tag the Marathon apps name points at the archive's v1 image id. Plain
# Ruby 1.9: the bundle's tests run it outside Chef with a stand-in docker.
#
require 'digest/sha2'
require 'json'

module BundleDocker
  module_function

  # The repository:tag the apps name.
  def ref(im)
    "#{im['repository']}:#{im['tag']}"
  end

  # The archive facts (sha256, image_id) the build wrote for image im, from
  # node['<cookbook>_docker_archives']. Raises when the build wrote none.
  def archive_for(im, archives)
    a = (archives || {})[im['name']]
    if a.nil? || a['sha256'].to_s.empty? || a['image_id'].to_s.empty?
      raise "bundle: no sha256 and image id for the docker archive of image #{im['name']}; attributes/docker_archives.rb is missing from the cookbook"
    end
    a
  end

  # The image id ref names in the local Docker, or nil. run.call(argv)
  # returns [success, stdout, stderr]. docker inspect prints "Id" (Docker
  # 1.x's CmdLookup); the image's own json says "id".
  def image_id(run, ref)
    ok, out, _err = run.call(['docker', 'inspect', ref])
    return nil unless ok
    list = JSON.parse(out)
    return nil unless list.is_a?(Array) && list.size == 1
    id = list[0]['Id'] || list[0]['id']
    id && id.to_s.sub(/\Asha256:/, '')
  rescue JSON::ParserError
    nil
  end

  # Whether ref already names the archive's image: then nothing is
  # downloaded or loaded.
  def loaded?(run, im, archive)
    image_id(run, ref(im)) == archive['image_id']
  end

  # Checks path against the archive's sha256, loads it, and checks the tag.
  def load(run, im, archive, path)
    sum = Digest::SHA256.file(path).hexdigest
    if sum != archive['sha256']
      raise "bundle: #{path} has sha256 #{sum}, the bundle's archive of image #{im['name']} has #{archive['sha256']}"
    end
    ok, out, err = run.call(['docker', 'load', '-i', path])
    raise "bundle: docker load -i #{path} failed: #{(err.to_s + out.to_s).strip}" unless ok
    got = image_id(run, ref(im))
    if got != archive['image_id']
      raise "bundle: after docker load -i #{path}, #{ref(im)} is #{got.inspect}, not the archive's image #{archive['image_id']}"
    end
    got
  end
end
