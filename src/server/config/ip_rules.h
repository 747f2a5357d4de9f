// Owns: IP access rules ("all", IP literals, CIDR blocks) as used by [security] allow_/deny_ keys:
// parsing (with a message naming the bad item) and matching a peer address. GInetAddressMask does
// the CIDR arithmetic; IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 rules.
#pragma once

#include <gio/gio.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace estuary::config {

class IpRules {
 public:
  // Parses a space/comma-separated list. "" = no rules (matches nothing).
  static Result<IpRules> parse(std::string_view text);
  bool empty() const { return !all_ && masks_.empty(); }
  bool matches_all() const { return all_; }
  // True if ip (a literal, IPv4 or IPv6) is covered by a rule; false for an unparsable ip.
  bool matches(const std::string& ip) const;

 private:
  bool all_ = false;
  std::vector<std::shared_ptr<GInetAddressMask>> masks_;
};

// The access decision for one action (publish or play): deny wins; a non-empty allow list admits
// only the addresses it covers; no rules admit everyone. Bad rule text (already rejected by the
// config loader) is treated as "deny all" so a mistake never opens access.
bool ip_allowed(const std::string& ip, std::string_view allow_text, std::string_view deny_text);

}  // namespace estuary::config
