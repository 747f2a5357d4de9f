// Owns: pipelines.d parsing and validation, PipelineSpec matching and variable expansion, and
// trigger names.
#include "server/config/pipelines_dir.h"

#include <glib.h>
#include <gst/gst.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string_view>

#include "common/gobject_ptr.h"
#include "server/config/key_file_scanner.h"

namespace estuary::config {
namespace {

// Installed by the composition root (encoder placeholders); applied after variable substitution.
LaunchPreprocessor& launch_preprocessor() {
  static LaunchPreprocessor fn;
  return fn;
}
std::string preprocess(std::string launch) { return launch_preprocessor() ? launch_preprocessor()(launch) : launch; }

const char* const kOutputs[] = {"flv", "ts", "hls", "cmaf", "dvr", "transcode"};
constexpr std::string_view kGroupPrefix = "pipeline";

bool is_name_char(char c) { return g_ascii_isalnum(c) || c == '_' || c == '-' || c == '.'; }

// A variable is "{" lower-case identifier "}". Anything else in braces (a caps list such as
// "{ I420, NV12 }") is left alone, so GStreamer syntax stays usable.
bool is_variable_start(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool is_variable_char(char c) { return is_variable_start(c) || (c >= '0' && c <= '9'); }

// Substitutes {app} {stream} {name} and the codec variables. unknown (when given) receives the
// first unknown variable; without it unknown variables are copied through.
std::string substitute(const std::string& launch, const std::string& app, const std::string& stream,
                       std::string* unknown, const CodecVars& codecs = {}) {
  std::string out;
  out.reserve(launch.size() + 32);
  size_t i = 0;
  while (i < launch.size()) {
    if (launch[i] == '{' && i + 1 < launch.size() && is_variable_start(launch[i + 1])) {
      size_t j = i + 1;
      while (j < launch.size() && is_variable_char(launch[j])) ++j;
      if (j < launch.size() && launch[j] == '}') {
        std::string_view var(launch.data() + i + 1, j - i - 1);
        if (var == "app") {
          out += app;
        } else if (var == "stream") {
          out += stream;
        } else if (var == "name") {
          out += app + "/" + stream;
        } else if (var == "video_parser") {
          out += codecs.video_parser;
        } else if (var == "audio_parser") {
          out += codecs.audio_parser;
        } else if (var == "flv_audio") {
          out += codecs.flv_audio;
        } else if (var == "audio_track") {
          out += std::to_string(codecs.audio_track);
        } else {
          if (unknown && unknown->empty()) *unknown = std::string(var);
          out.append(launch, i, j - i + 1);
        }
        i = j + 1;
        continue;
      }
    }
    out += launch[i++];
  }
  return out;
}

std::vector<std::string> split_patterns(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (c == ';' || g_ascii_isspace(c)) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::optional<Trigger> parse_trigger(std::string_view text) {
  if (text == "publish") return Trigger::on_publish;
  if (text == "demand") return Trigger::on_demand;
  if (text == "always") return Trigger::always;
  return std::nullopt;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && g_ascii_isspace(s.front())) s.remove_prefix(1);
  while (!s.empty() && g_ascii_isspace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// The launch line plus the branches of the tracks present (audio_extra once per audio track after the
// first, its {track} replaced by the track's number).
std::string full_launch(const PipelineSpec& spec, bool has_video, bool has_audio, int audio_tracks = 1) {
  std::string out = spec.launch;
  if (has_video && !spec.video.empty()) out += " " + spec.video;
  if (has_audio && !spec.audio.empty()) out += " " + spec.audio;
  for (int k = 1; has_audio && k < audio_tracks && !spec.audio_extra.empty(); ++k) {
    std::string branch = spec.audio_extra;
    for (size_t at = branch.find("{track}"); at != std::string::npos; at = branch.find("{track}", at))
      branch.replace(at, 7, std::to_string(k));
    out += " " + branch;
  }
  return out;
}

// A transcode publishes what it makes: it needs an estuarysink, and none may write back to the stream
// it reads (the sample name), which would be a loop.
Status check_transcode_sinks(GstElement* element) {
  int sinks = 0;
  std::string problem;
  auto check = [&](GstElement* e) {
    GstElementFactory* f = gst_element_get_factory(e);
    if (!f || std::string_view(GST_OBJECT_NAME(f)) != "estuarysink") return;
    ++sinks;
    gchar* name = nullptr;
    g_object_get(e, "stream", &name, nullptr);
    GString_ owned(name);
    const std::string stream = name ? name : "";
    if (stream == std::string(kSampleApp) + "/" + kSampleStream && problem.empty())
      problem = "output \"transcode\": an estuarysink publishes the stream the pipeline reads ({name})";
    else if (stream.find('/') == std::string::npos && problem.empty())
      problem = "output \"transcode\": estuarysink stream \"" + stream + "\" is not app/stream";
  };
  if (GST_IS_BIN(element)) {
    GstIterator* it = gst_bin_iterate_recurse(GST_BIN(element));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
      check(GST_ELEMENT(g_value_get_object(&item)));
      g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
  } else {
    check(element);
  }
  if (!problem.empty()) return Error{problem};
  if (sinks == 0)
    return Error{"output \"transcode\" needs at least one estuarysink (e.g. \"... ! estuarysink stream={name}_720p\")"};
  return ok_status();
}

// Parses the launch line with GStreamer and throws the result away. FATAL_ERRORS: a half-built
// pipeline with a "recoverable" error (e.g. a property that does not exist) counts as an error.
Status check_launch(const PipelineSpec& spec, const std::string& launch) {
  if (!gst_is_initialized()) return Error{"GStreamer is not initialised (gst_init must run before loading)"};
  GError* error = nullptr;
  GstParseFlags flags = GST_PARSE_FLAG_FATAL_ERRORS;
  GstElement* parsed = gst_parse_launch_full(launch.c_str(), nullptr, flags, &error);
  // The result may be floating: sink it so exactly one owned reference is dropped below.
  if (parsed && g_object_is_floating(parsed)) gst_object_ref_sink(parsed);
  Ref<GstElement> element = Ref<GstElement>::adopt(parsed);
  if (error) {
    std::string message = error->message;
    g_clear_error(&error);
    return Error{message};
  }
  if (!element) return Error{"GStreamer could not build the launch line"};
  if (spec.output == "flv" || spec.output == "ts") {
    // The FLV and TS outputs read the muxed stream from the element named "sink".
    // A single-element description comes back as that element, not wrapped in a bin.
    bool found = false;
    if (GST_IS_BIN(element.get())) {
      found = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(element.get()), "sink")).get() != nullptr;
    } else {
      GString_ name(gst_object_get_name(GST_OBJECT(element.get())));
      found = name.get() && std::string_view(name.get()) == "sink";
    }
    if (!found) {
      return Error{"output \"" + spec.output +
                   "\" needs an element named \"sink\" in the launch line (e.g. \"... ! appsink name=sink\")"};
    }
  }
  if (spec.output == "transcode") return check_transcode_sinks(element.get());
  return ok_status();
}

Error located(const std::string& path, int line, const std::string& name, const std::string& problem) {
  return Error{location(path, line) + "pipeline \"" + name + "\": " + problem};
}

Result<PipelineSpec> parse_group(const std::string& path, const ScannedGroup& group) {
  PipelineSpec spec;
  spec.file = path;
  spec.line = group.line;

  std::string_view header = group.name;
  bool prefixed = header.substr(0, kGroupPrefix.size()) == kGroupPrefix &&
                  (header.size() == kGroupPrefix.size() || g_ascii_isspace(header[kGroupPrefix.size()]));
  if (!prefixed) {
    return Error{location(path, group.line) + "unknown group [" + group.name + "] (expected [pipeline NAME])"};
  }
  spec.name = trimmed(header.substr(kGroupPrefix.size()));
  if (spec.name.empty() || !std::all_of(spec.name.begin(), spec.name.end(), is_name_char)) {
    return Error{location(path, group.line) + "invalid pipeline name \"" + spec.name + "\" in [" + group.name +
                 "] (use letters, digits, '_', '-', '.')"};
  }

  int launch_line = 0;
  for (const ScannedEntry& entry : group.entries) {
    Result<std::string> value = unescape_value(entry.raw_value);
    if (!value) return located(path, entry.line, spec.name, entry.key + ": " + value.error().message);
    if (entry.key == "match") {
      spec.match = split_patterns(*value);
      for (const std::string& pattern : spec.match) {
        // The subject always contains '/', so a pattern with neither '/' nor a wildcard never matches.
        if (pattern.find_first_of("/*?") == std::string::npos) {
          return located(
              path, entry.line, spec.name,
              "match pattern \"" + pattern + "\" can never match \"app/stream\" (e.g. \"" + pattern + "/*\")");
        }
      }
    } else if (entry.key == "trigger") {
      std::optional<Trigger> trigger = parse_trigger(trimmed(*value));
      if (!trigger) {
        return located(path, entry.line, spec.name,
                       "trigger: value \"" + trimmed(*value) + "\" is not one of publish, demand, always");
      }
      spec.trigger = *trigger;
    } else if (entry.key == "output") {
      spec.output = trimmed(*value);
      auto outputs = known_outputs();
      if (!spec.output.empty() && std::find(outputs.begin(), outputs.end(), spec.output) == outputs.end()) {
        std::string list;
        for (const char* o : outputs) list += std::string(list.empty() ? "" : ", ") + o;
        return located(path, entry.line, spec.name,
                       "output: value \"" + spec.output + "\" is not a known output (" + list +
                           ", or empty for a custom pipeline)");
      }
    } else if (entry.key == "launch") {
      spec.launch = trimmed(*value);
      launch_line = entry.line;
    } else if (entry.key == "video" || entry.key == "audio" || entry.key == "audio_extra") {
      (entry.key == "video" ? spec.video : entry.key == "audio" ? spec.audio : spec.audio_extra) = trimmed(*value);
      if (launch_line == 0) launch_line = entry.line;
    } else {
      return located(
          path, entry.line, spec.name,
          "unknown key \"" + entry.key + "\" (known: match, trigger, output, launch, video, audio, audio_extra)");
    }
  }

  if (spec.output == "transcode" && spec.trigger == Trigger::on_demand) {
    // Its renditions do not exist before it runs, so no viewer could ever ask for them.
    return located(path, group.line, spec.name, "output \"transcode\" runs on trigger=publish or always, not demand");
  }
  if (launch_line == 0 || spec.launch.empty()) {
    return located(path, launch_line ? launch_line : group.line, spec.name, "missing or empty required key \"launch\"");
  }
  std::string unknown;
  std::string sample = substitute(full_launch(spec, true, true, 2), kSampleApp, kSampleStream, &unknown);
  if (!unknown.empty()) {
    return located(path, launch_line, spec.name,
                   "unknown variable {" + unknown +
                       "} in launch (known: {app}, {stream}, {name}, {video_parser}, "
                       "{audio_parser}, {flv_audio}, {audio_track})");
  }
  Status parsed = check_launch(spec, preprocess(sample));
  if (!parsed) return located(path, launch_line, spec.name, parsed.error().message);
  return spec;
}

Result<std::vector<PipelineSpec>> specs_from_scanned(const ScannedFile& scanned) {
  std::vector<PipelineSpec> out;
  for (const ScannedGroup& group : scanned.groups) {
    Result<PipelineSpec> spec = parse_group(scanned.path, group);
    if (!spec) return spec.error();
    out.push_back(std::move(*spec));
  }
  return out;
}

}  // namespace

const char* trigger_name(Trigger t) {
  switch (t) {
    case Trigger::on_publish:
      return "publish";
    case Trigger::on_demand:
      return "demand";
    case Trigger::always:
      return "always";
  }
  return "unknown";
}

bool PipelineSpec::matches(const std::string& app_stream) const {
  if (match.empty()) return true;
  for (const std::string& pattern : match) {
    if (g_pattern_match_simple(pattern.c_str(), app_stream.c_str())) return true;
  }
  return false;
}

std::string PipelineSpec::expand(const std::string& app, const std::string& stream) const {
  return expand_for_tracks(app, stream, true, true);
}

std::string PipelineSpec::expand_for_tracks(const std::string& app, const std::string& stream, bool has_video,
                                            bool has_audio, const CodecVars& codecs) const {
  return preprocess(
      substitute(full_launch(*this, has_video, has_audio, codecs.audio_tracks), app, stream, nullptr, codecs));
}

void set_launch_preprocessor(LaunchPreprocessor fn) { launch_preprocessor() = std::move(fn); }

std::span<const char* const> known_outputs() { return kOutputs; }

Result<std::vector<PipelineSpec>> parse_pipelines_file(const std::string& path, const std::string& text) {
  Result<ScannedFile> scanned = scan_key_file(path, text);
  if (!scanned) return scanned.error();
  return specs_from_scanned(*scanned);
}

Result<std::vector<PipelineSpec>> load_pipelines_dir(const std::string& dir) {
  GError* error = nullptr;
  GDir* handle = g_dir_open(dir.c_str(), 0, &error);
  if (!handle) {
    std::string message = dir + ": cannot open pipelines directory: " + (error ? error->message : "unknown error");
    g_clear_error(&error);
    return Error{message};
  }
  std::vector<std::string> names;
  while (const gchar* entry = g_dir_read_name(handle)) {
    std::string name = entry;
    if (name.front() != '.' && g_str_has_suffix(entry, ".conf")) names.push_back(std::move(name));
  }
  g_dir_close(handle);
  std::sort(names.begin(), names.end());

  std::vector<PipelineSpec> all;
  std::map<std::string, std::string> first_seen;  // pipeline name -> "file:line"
  for (const std::string& name : names) {
    GString_ path_owned(g_build_filename(dir.c_str(), name.c_str(), nullptr));
    std::string path = path_owned.get();
    if (!g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR)) continue;
    Result<ScannedFile> scanned = scan_key_file_path(path);
    if (!scanned) return scanned.error();
    Result<std::vector<PipelineSpec>> specs = specs_from_scanned(*scanned);
    if (!specs) return specs.error();
    for (PipelineSpec& spec : *specs) {
      std::string where = spec.file + ":" + std::to_string(spec.line);
      auto [it, inserted] = first_seen.emplace(spec.name, where);
      if (!inserted) {
        return Error{location(spec.file, spec.line) + "duplicate pipeline \"" + spec.name + "\" (first defined at " +
                     it->second + ")"};
      }
      all.push_back(std::move(spec));
    }
  }
  return all;
}

}  // namespace estuary::config
