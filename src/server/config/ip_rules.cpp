// Owns: IpRules (see ip_rules.h).
#include "server/config/ip_rules.h"

#include <string>

namespace estuary::config {
namespace {

std::vector<std::string> split_items(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == ',' || c == '\n') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// ::ffff:a.b.c.d -> a.b.c.d; anything else unchanged.
std::string unmap_v4(const std::string& ip) {
  if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) return ip.substr(7);
  return ip;
}

}  // namespace

Result<IpRules> IpRules::parse(std::string_view text) {
  IpRules rules;
  for (const std::string& item : split_items(text)) {
    if (item == "all") {
      rules.all_ = true;
      continue;
    }
    GError* err = nullptr;
    GInetAddressMask* mask = g_inet_address_mask_new_from_string(item.c_str(), &err);
    if (!mask) {
      g_clear_error(&err);
      return Error{"\"" + item + "\" is not an IP address, a CIDR block (e.g. 10.0.0.0/8) or \"all\""};
    }
    rules.masks_.emplace_back(mask, [](GInetAddressMask* m) { g_object_unref(m); });
  }
  return rules;
}

bool IpRules::matches(const std::string& ip) const {
  if (all_) return true;
  GInetAddress* addr = g_inet_address_new_from_string(unmap_v4(ip).c_str());
  if (!addr) return false;
  bool hit = false;
  for (const auto& m : masks_) {
    if (g_inet_address_get_family(addr) == g_inet_address_mask_get_family(m.get()) &&
        g_inet_address_mask_matches(m.get(), addr)) {
      hit = true;
      break;
    }
  }
  g_object_unref(addr);
  return hit;
}

bool ip_allowed(const std::string& ip, std::string_view allow_text, std::string_view deny_text) {
  auto deny = IpRules::parse(deny_text);
  auto allow = IpRules::parse(allow_text);
  if (!deny || !allow) return false;
  if (deny->matches(ip)) return false;
  if (!allow->empty() && !allow->matches(ip)) return false;
  return true;
}

}  // namespace estuary::config
