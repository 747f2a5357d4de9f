// Owns: [source NAME] and [forward NAME] parsing and validation (see sources_config.h).
#include "server/config/sources_config.h"

#include <glib.h>
#include <gst/gst.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "common/gobject_ptr.h"
#include "server/config/config.h"
#include "server/config/key_file_scanner.h"

namespace estuary::config {
namespace {

constexpr int kHour = 3600 * 1000;

bool has_prefix_word(const std::string& name, std::string_view word, std::string* rest) {
  if (name.size() <= word.size() || std::string_view(name).substr(0, word.size()) != word ||
      !g_ascii_isspace(name[word.size()]))
    return false;
  std::string_view r = std::string_view(name).substr(word.size());
  while (!r.empty() && g_ascii_isspace(r.front())) r.remove_prefix(1);
  while (!r.empty() && g_ascii_isspace(r.back())) r.remove_suffix(1);
  *rest = std::string(r);
  return true;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && g_ascii_isspace(s.front())) s.remove_prefix(1);
  while (!s.empty() && g_ascii_isspace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (g_ascii_isspace(c)) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

Status parse_int(const std::string& text, int min, int max, int* out) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
    return Error{"value \"" + text + "\" is not an integer"};
  if (value < min || value > max)
    return Error{"value " + text + " is out of range " + std::to_string(min) + ".." + std::to_string(max)};
  *out = value;
  return ok_status();
}

std::string scheme_of(const std::string& url) {
  GUri* uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!uri) return "";
  std::string scheme = g_uri_get_scheme(uri) ? g_uri_get_scheme(uri) : "";
  const char* host = g_uri_get_host(uri);
  const bool needs_host = scheme != "file";
  if (needs_host && (!host || !*host)) scheme.clear();
  g_uri_unref(uri);
  for (char& c : scheme) c = g_ascii_tolower(c);
  return scheme;
}

Status check_source_url(const std::string& url) {
  const std::string scheme = scheme_of(url);
  static const char* const kSchemes[] = {"rtsp", "rtsps", "srt", "rtmp", "rtmps", "http", "https", "file"};
  if (std::find_if(std::begin(kSchemes), std::end(kSchemes), [&](const char* s) { return scheme == s; }) ==
      std::end(kSchemes))
    return Error{"\"" + url +
                 "\" is not a URL this server can pull (rtsp://, rtsps://, srt://, rtmp://, rtmps://, http(s)://, "
                 "file:///)"};
  if (scheme == "file") {
    GError* err = nullptr;
    gchar* path = g_filename_from_uri(url.c_str(), nullptr, &err);
    if (!path) {
      std::string message = err ? err->message : "invalid file URI";
      g_clear_error(&err);
      return Error{"\"" + url + "\": " + message + " (use file:///absolute/path)"};
    }
    g_free(path);
  }
  return ok_status();
}

Status check_forward_url(const std::string& url) {
  const std::string scheme = scheme_of(expand_stream_variables(url, "live", "test"));
  if (scheme != "rtmp" && scheme != "rtmps" && scheme != "srt")
    return Error{"\"" + url + "\" is not an rtmp://, rtmps:// or srt:// URL"};
  return ok_status();
}

// The launch line parses (with sample names) and publishes through estuarysink.
Status check_source_launch(const std::string& launch) {
  if (launch.find("estuarysink") == std::string::npos)
    return Error{"the launch line must end in estuarysink stream={name}"};
  if (!gst_is_initialized()) return Error{"GStreamer is not initialised"};
  GError* error = nullptr;
  const std::string sample = expand_stream_variables(launch, "live", "test");
  GstElement* parsed = gst_parse_launch_full(sample.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (parsed && g_object_is_floating(parsed)) gst_object_ref_sink(parsed);
  Ref<GstElement> element = Ref<GstElement>::adopt(parsed);
  if (error) {
    std::string message = error->message;
    g_clear_error(&error);
    return Error{message};
  }
  return ok_status();
}

Error located(const std::string& path, int line, const std::string& group, const std::string& problem) {
  return Error{location(path, line) + "[" + group + "] " + problem};
}

}  // namespace

const char* source_mode_name(SourceMode m) { return m == SourceMode::demand ? "demand" : "always"; }

bool ForwardSpec::matches(const std::string& app_stream) const {
  if (match.empty()) return true;
  for (const std::string& pattern : match)
    if (g_pattern_match_simple(pattern.c_str(), app_stream.c_str())) return true;
  return false;
}

bool is_source_or_forward_group(const std::string& group_name) {
  std::string rest;
  return has_prefix_word(group_name, "source", &rest) || has_prefix_word(group_name, "forward", &rest);
}

std::string expand_stream_variables(const std::string& text, const std::string& app, const std::string& stream) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 5, "{app}") == 0) {
      out += app;
      i += 5;
    } else if (text.compare(i, 8, "{stream}") == 0) {
      out += stream;
      i += 8;
    } else if (text.compare(i, 6, "{name}") == 0) {
      out += app + "/" + stream;
      i += 6;
    } else {
      out += text[i++];
    }
  }
  return out;
}

Status parse_source_group(const std::string& path, const ScannedGroup& group, std::vector<SourceSpec>* sources) {
  SourceSpec spec;
  spec.file = path;
  spec.line = group.line;
  has_prefix_word(group.name, "source", &spec.name);
  if (!is_valid_name_component(spec.name))
    return Error{location(path, group.line) + "invalid source name \"" + spec.name + "\" in [" + group.name +
                 "] (use letters, digits, '_', '-', '.')"};
  int stream_line = 0, url_line = 0;
  for (const ScannedEntry& entry : group.entries) {
    Result<std::string> raw = unescape_value(entry.raw_value);
    if (!raw) return located(path, entry.line, group.name, entry.key + ": " + raw.error().message);
    const std::string value = trimmed(*raw);
    auto fail = [&](const std::string& problem) {
      return located(path, entry.line, group.name, entry.key + ": " + problem);
    };
    Status st = ok_status();
    if (entry.key == "stream") {
      spec.stream = value;
      stream_line = entry.line;
      const size_t slash = value.find('/');
      if (slash == std::string::npos || !is_valid_name_component(value.substr(0, slash)) ||
          !is_valid_name_component(value.substr(slash + 1)))
        return fail("value \"" + value + "\" is not app/name (letters, digits, _ . -)");
    } else if (entry.key == "url") {
      spec.url = value;
      url_line = entry.line;
      st = check_source_url(value);
    } else if (entry.key == "launch") {
      spec.launch = value;
      url_line = entry.line;
      st = check_source_launch(value);
    } else if (entry.key == "mode") {
      if (value == "always")
        spec.mode = SourceMode::always;
      else if (value == "demand")
        spec.mode = SourceMode::demand;
      else
        st = Error{"value \"" + value + "\" is not one of always, demand"};
    } else if (entry.key == "linger_ms") {
      st = parse_int(value, 0, kHour, &spec.linger_ms);
    } else if (entry.key == "retry_min_ms") {
      st = parse_int(value, 1, kHour, &spec.retry_min_ms);
    } else if (entry.key == "retry_max_ms") {
      st = parse_int(value, 1, kHour, &spec.retry_max_ms);
    } else if (entry.key == "timeout_ms") {
      st = parse_int(value, 100, kHour, &spec.timeout_ms);
    } else if (entry.key == "rtsp_transport") {
      if (value != "auto" && value != "tcp" && value != "udp")
        st = Error{"value \"" + value + "\" is not one of auto, tcp, udp"};
      spec.rtsp_transport = value;
    } else if (entry.key == "loop") {
      if (value != "true" && value != "false") st = Error{"value \"" + value + "\" is not a boolean (true or false)"};
      spec.loop = value == "true";
    } else {
      return located(path, entry.line, group.name,
                     "unknown key \"" + entry.key +
                         "\" (known: stream, url, launch, mode, linger_ms, retry_min_ms, retry_max_ms, timeout_ms, "
                         "rtsp_transport, loop)");
    }
    if (!st) return fail(st.error().message);
  }
  if (spec.stream.empty()) return located(path, group.line, group.name, "missing required key \"stream\" (app/name)");
  if (spec.url.empty() == spec.launch.empty())
    return located(path, url_line ? url_line : group.line, group.name,
                   "exactly one of \"url\" or \"launch\" is required");
  if (spec.retry_max_ms < spec.retry_min_ms)
    return located(path, group.line, group.name,
                   "retry_max_ms (" + std::to_string(spec.retry_max_ms) + ") is less than retry_min_ms (" +
                       std::to_string(spec.retry_min_ms) + ")");
  for (const SourceSpec& other : *sources)
    if (other.stream == spec.stream)
      return located(path, stream_line, group.name,
                     "stream: " + spec.stream + " is already pulled by [source " + other.name + "] at " + other.file +
                         ":" + std::to_string(other.line));
  sources->push_back(std::move(spec));
  return ok_status();
}

Status parse_forward_group(const std::string& path, const ScannedGroup& group, std::vector<ForwardSpec>* forwards) {
  ForwardSpec spec;
  spec.file = path;
  spec.line = group.line;
  has_prefix_word(group.name, "forward", &spec.name);
  if (!is_valid_name_component(spec.name))
    return Error{location(path, group.line) + "invalid forward name \"" + spec.name + "\" in [" + group.name +
                 "] (use letters, digits, '_', '-', '.')"};
  for (const ScannedEntry& entry : group.entries) {
    Result<std::string> raw = unescape_value(entry.raw_value);
    if (!raw) return located(path, entry.line, group.name, entry.key + ": " + raw.error().message);
    const std::string value = trimmed(*raw);
    auto fail = [&](const std::string& problem) {
      return located(path, entry.line, group.name, entry.key + ": " + problem);
    };
    Status st = ok_status();
    if (entry.key == "match") {
      spec.match = split_words(value);
      for (const std::string& pattern : spec.match)
        if (pattern.find_first_of("/*?") == std::string::npos)
          return fail("pattern \"" + pattern + "\" can never match \"app/stream\" (e.g. \"" + pattern + "/*\")");
    } else if (entry.key == "url" || entry.key == "urls") {
      spec.urls = split_words(value);
      if (spec.urls.empty()) return fail("at least one destination URL is required");
      for (const std::string& url : spec.urls)
        if (!(st = check_forward_url(url))) break;
    } else if (entry.key == "retry_min_ms") {
      st = parse_int(value, 1, kHour, &spec.retry_min_ms);
    } else if (entry.key == "retry_max_ms") {
      st = parse_int(value, 1, kHour, &spec.retry_max_ms);
    } else {
      return located(path, entry.line, group.name,
                     "unknown key \"" + entry.key + "\" (known: match, url, retry_min_ms, retry_max_ms)");
    }
    if (!st) return fail(st.error().message);
  }
  if (spec.urls.empty()) return located(path, group.line, group.name, "missing required key \"url\"");
  if (spec.retry_max_ms < spec.retry_min_ms)
    return located(path, group.line, group.name,
                   "retry_max_ms (" + std::to_string(spec.retry_max_ms) + ") is less than retry_min_ms (" +
                       std::to_string(spec.retry_min_ms) + ")");
  forwards->push_back(std::move(spec));
  return ok_status();
}

}  // namespace estuary::config
