# Reads a Chef 11 cookbook's Ruby the way a BDE node's chef-client does:
# every .rb with the Ruby 1.9 grammar (Chef 11 embeds Ruby 1.9.3; the
# whitequark parser's Parser::Ruby19), every .erb compiled by Erubis::Eruby
# (Chef 11's template engine) and its Ruby source read with the same
# grammar. A .rb without an encoding comment must be ASCII: Ruby 1.9 reads
# such a file as US-ASCII and stops at its first other byte.
# Prints JSON: { "rb": <count>, "erb": <count>, "errors": { FILE: [MESSAGE...] } }.
# Usage: ruby ruby19_check.rb FILE...
require 'json'
require 'parser/ruby19'
require 'erubis'

def parse19(src, name)
  errors = []
  parser = Parser::Ruby19.new
  parser.diagnostics.all_errors_are_fatal = false
  parser.diagnostics.ignore_warnings = true
  parser.diagnostics.consumer = lambda do |d|
    errors << d.render.join("\n") if [:error, :fatal].include?(d.level)
  end
  buf = Parser::Source::Buffer.new(name, 1)
  begin
    buf.source = src
    parser.parse(buf)
  rescue Parser::SyntaxError => e
    errors << e.diagnostic.render.join("\n") if errors.empty?
  rescue EncodingError, ArgumentError => e
    errors << "#{name}: #{e.message}"
  end
  errors
end

ENCODING_COMMENT = /\A(?:#!.*\n)?#.*(?:en)?coding[:=]\s*([\w.-]+)/

out = { 'rb' => 0, 'erb' => 0, 'errors' => {} }
ARGV.each do |path|
  src = File.binread(path)
  errs = []
  case File.extname(path)
  when '.rb'
    out['rb'] += 1
    if src !~ ENCODING_COMMENT && !src.ascii_only?
      i = src.bytes.index { |b| b > 0x7f }
      line = src.byteslice(0, i).count("\n") + 1
      errs << "#{path}:#{line}: a byte outside ASCII in a file without an encoding comment (Ruby 1.9 reads it as US-ASCII)"
    end
    errs.concat(parse19(src.dup.force_encoding('UTF-8'), path))
  when '.erb'
    out['erb'] += 1
    begin
      ruby = Erubis::Eruby.new(src.dup.force_encoding('UTF-8')).src
      errs.concat(parse19(ruby, path + ' (compiled by Erubis)'))
    rescue StandardError => e
      errs << "#{path}: Erubis: #{e.message}"
    end
  else
    errs << "#{path}: neither .rb nor .erb"
  end
  out['errors'][path] = errs unless errs.empty?
end
puts JSON.generate(out)
