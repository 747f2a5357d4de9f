// Owns: the table of known config keys (types, ranges, one-line help) and value parsing.
// Adding a key: add the member to config.h, a row here, and a documented line in
// conf/estuary.conf (a unit test checks that the shipped file names every key).
#include "server/config/schema.h"

#include <glib.h>

#include <charconv>
#include <string>

namespace estuary::config {
namespace {

constexpr int kHour = 3600 * 1000;  // ms
constexpr int kGiB = 1024 * 1024;   // in KB

const char* const kSections[] = {"server", "rtmp", "http", "api", "fanout", "bus", "outputs"};
const char* const kLogLevels[] = {"debug", "info", "warn", "error"};

KeySpec boolean_key(const char* section, const char* key, bool* (*field)(Config&), const char* help) {
  KeySpec s{section, key, ValueType::boolean, 0, 0, {}, help};
  s.bool_field = field;
  return s;
}

KeySpec int_key(const char* section, const char* key, int min, int max, int* (*field)(Config&), const char* help) {
  KeySpec s{section, key, ValueType::integer, min, max, {}, help};
  s.int_field = field;
  return s;
}

KeySpec choice_key(const char* section, const char* key, std::span<const char* const> choices,
                   std::string* (*field)(Config&), const char* help) {
  KeySpec s{section, key, ValueType::choice, 0, 0, choices, help};
  s.string_field = field;
  return s;
}

KeySpec address_key(const char* section, const char* key, std::string* (*field)(Config&), const char* help) {
  KeySpec s{section, key, ValueType::ip_address, 0, 0, {}, help};
  s.string_field = field;
  return s;
}

// Ranges: ports are real TCP ports; timeouts are positive and at most an hour (so ms arithmetic
// never overflows an int); sizes are bounded by what the protocol or memory can sensibly hold.
const KeySpec kKeys[] = {
    choice_key(
        "server", "log_level", kLogLevels, [](Config& c) { return &c.server.log_level; },
        "least severe event written to the log: debug, info, warn or error"),

    boolean_key(
        "rtmp", "enabled", [](Config& c) { return &c.rtmp.enabled; }, "accept RTMP publishers and players"),
    address_key(
        "rtmp", "address", [](Config& c) { return &c.rtmp.address; }, "IP address to listen on"),
    int_key(
        "rtmp", "port", 1, 65535, [](Config& c) { return &c.rtmp.port; }, "TCP port to listen on"),
    int_key(
        "rtmp", "chunk_size", 128, 65536, [](Config& c) { return &c.rtmp.chunk_size; },
        "outgoing chunk size in bytes (128..65536)"),
    int_key(
        "rtmp", "publish_timeout_ms", 1, kHour, [](Config& c) { return &c.rtmp.publish_timeout_ms; },
        "a publisher that sends nothing for this long is dropped"),
    int_key(
        "rtmp", "takeover_idle_ms", 0, kHour, [](Config& c) { return &c.rtmp.takeover_idle_ms; },
        "a new publisher replaces a live one that has been silent this long (0 = always)"),
    int_key(
        "rtmp", "handshake_timeout_ms", 1, kHour, [](Config& c) { return &c.rtmp.handshake_timeout_ms; },
        "a connection that has not finished handshake and publish/play in this time is closed"),
    // RTMP message lengths are 24-bit: 16 MiB is the protocol's own limit.
    int_key(
        "rtmp", "max_message_kb", 1, 16384, [](Config& c) { return &c.rtmp.max_message_kb; },
        "largest RTMP message accepted, in KiB (1..16384)"),

    boolean_key(
        "http", "enabled", [](Config& c) { return &c.http.enabled; }, "serve HTTP-FLV, HTTP-TS and HLS viewers"),
    address_key(
        "http", "address", [](Config& c) { return &c.http.address; }, "IP address to listen on"),
    int_key(
        "http", "port", 1, 65535, [](Config& c) { return &c.http.port; }, "TCP port to listen on"),
    boolean_key(
        "http", "cors", [](Config& c) { return &c.http.cors; },
        "send Access-Control-Allow-Origin: * so browser players on other origins work"),

    boolean_key(
        "api", "enabled", [](Config& c) { return &c.api.enabled; }, "serve the HTTP API, WHIP/WHEP and /metrics"),
    address_key(
        "api", "address", [](Config& c) { return &c.api.address; }, "IP address to listen on"),
    int_key(
        "api", "port", 1, 65535, [](Config& c) { return &c.api.port; }, "TCP port to listen on"),

    int_key(
        "fanout", "threads", 0, 1024, [](Config& c) { return &c.fanout.threads; },
        "fan-out writer threads (0 = one per core)"),
    int_key(
        "fanout", "write_batch_ms", 0, 1000, [](Config& c) { return &c.fanout.write_batch_ms; },
        "0 = write at once (lowest latency); >0 coalesces writes for this long (throughput)"),
    int_key(
        "fanout", "max_backlog_kb", 1, kGiB, [](Config& c) { return &c.fanout.max_backlog_kb; },
        "a viewer with more than this many KiB unsent skips to the next keyframe"),
    int_key(
        "fanout", "max_behind_ms", 1, kHour, [](Config& c) { return &c.fanout.max_behind_ms; },
        "a viewer this far behind is disconnected"),

    int_key(
        "bus", "gop_cache_max_kb", 1, kGiB, [](Config& c) { return &c.bus.gop_cache_max_kb; },
        "largest GOP kept for late joiners, in KiB"),
    int_key(
        "bus", "subscriber_queue_ms", 1, kHour, [](Config& c) { return &c.bus.subscriber_queue_ms; },
        "per-subscriber queue bound; above it the subscriber drops to the next keyframe"),

    int_key(
        "outputs", "linger_ms", 0, kHour, [](Config& c) { return &c.outputs.linger_ms; },
        "on-demand outputs stay up this long after their last viewer leaves"),
    int_key(
        "outputs", "restart_backoff_ms", 1, kHour, [](Config& c) { return &c.outputs.restart_backoff_ms; },
        "first restart delay of a failed output (doubles on each failure)"),
    int_key(
        "outputs", "restart_backoff_max_ms", 1, kHour, [](Config& c) { return &c.outputs.restart_backoff_max_ms; },
        "restart delay cap (not below restart_backoff_ms)"),
};

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

Status parse_integer(const KeySpec& spec, std::string_view text, int* out) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;  // from_chars rejects '+'; users write it
  long long value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (text.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Error{"value " + quoted(text) + " is not an integer"};
  }
  if (ec == std::errc::result_out_of_range || value < spec.min || value > spec.max) {
    return Error{"value " + std::string(text) + " is out of range " + std::to_string(spec.min) + ".." +
                 std::to_string(spec.max)};
  }
  *out = static_cast<int>(value);
  return ok_status();
}

}  // namespace

std::span<const char* const> schema_sections() { return kSections; }

std::span<const KeySpec> schema_keys() { return kKeys; }

bool is_schema_section(std::string_view section) {
  for (const char* s : kSections) {
    if (section == s) return true;
  }
  return false;
}

const KeySpec* find_key(std::string_view section, std::string_view key) {
  for (const KeySpec& spec : kKeys) {
    if (section == spec.section && key == spec.key) return &spec;
  }
  return nullptr;
}

Status apply_value(const KeySpec& spec, std::string_view raw, Config& config) {
  // Trailing blanks survive GKeyFile parsing and are invisible in an editor: ignore them.
  std::string_view text = raw;
  while (!text.empty() && g_ascii_isspace(text.back())) text.remove_suffix(1);
  while (!text.empty() && g_ascii_isspace(text.front())) text.remove_prefix(1);

  switch (spec.type) {
    case ValueType::boolean:
      if (text == "true") {
        *spec.bool_field(config) = true;
      } else if (text == "false") {
        *spec.bool_field(config) = false;
      } else {
        return Error{"value " + quoted(text) + " is not a boolean (true or false)"};
      }
      return ok_status();
    case ValueType::integer: {
      int value = 0;
      Status st = parse_integer(spec, text, &value);
      if (!st) return st;
      *spec.int_field(config) = value;
      return ok_status();
    }
    case ValueType::choice: {
      std::string list;
      for (const char* choice : spec.choices) {
        if (text == choice) {
          *spec.string_field(config) = choice;
          return ok_status();
        }
        list += list.empty() ? "" : ", ";
        list += choice;
      }
      return Error{"value " + quoted(text) + " is not one of " + list};
    }
    case ValueType::ip_address: {
      std::string value(text);
      if (!g_hostname_is_ip_address(value.c_str())) {
        return Error{"value " + quoted(text) + " is not an IPv4 or IPv6 address (e.g. 0.0.0.0, 127.0.0.1, ::)"};
      }
      *spec.string_field(config) = value;
      return ok_status();
    }
  }
  return Error{"unsupported value type"};
}

std::string format_value(const KeySpec& spec, const Config& config) {
  // The field accessors are shared with apply_value and take a mutable Config; nothing is written.
  Config& c = const_cast<Config&>(config);
  switch (spec.type) {
    case ValueType::boolean:
      return *spec.bool_field(c) ? "true" : "false";
    case ValueType::integer:
      return std::to_string(*spec.int_field(c));
    case ValueType::choice:
    case ValueType::ip_address:
      return *spec.string_field(c);
  }
  return "";
}

}  // namespace estuary::config
