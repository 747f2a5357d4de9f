// Owns: SDP text transformations (see sdp_text.h).
#include "server/protocols/webrtc/sdp_text.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <sstream>

namespace estuary::webrtc {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = end + 1;
  }
  return lines;
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

// "candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE ..." (the a= value).
bool valid_candidate(std::string_view value) {
  auto w = split_words(value);
  if (w.size() < 8 || w[0].rfind("candidate:", 0) != 0 || w[6] != "typ") return false;
  uint32_t n = 0;
  for (int i : {1, 3, 5}) {
    auto [p, ec] = std::from_chars(w[size_t(i)].data(), w[size_t(i)].data() + w[size_t(i)].size(), n);
    if (ec != std::errc() || p != w[size_t(i)].data() + w[size_t(i)].size()) return false;
  }
  return true;
}

}  // namespace

int count_candidates(std::string_view sdp) {
  int n = 0;
  for (std::string_view line : split_lines(sdp))
    if (line.rfind("a=candidate:", 0) == 0) ++n;
  return n;
}

std::string add_candidate_address(std::string_view sdp, std::string_view ip) {
  if (ip.empty()) return std::string(sdp);
  std::string out;
  out.reserve(sdp.size() + 256);
  std::vector<std::string> extra;  // for the m-section being copied
  bool ip_present = false;
  auto flush_extra = [&]() {
    if (!ip_present)
      for (const auto& e : extra) out += e + "\r\n";
    extra.clear();
    ip_present = false;
  };
  for (std::string_view line : split_lines(sdp)) {
    if (line.rfind("m=", 0) == 0) flush_extra();
    if (line.rfind("a=end-of-candidates", 0) == 0) flush_extra();  // extras go before the end marker
    out += std::string(line) + "\r\n";
    if (line.rfind("a=candidate:", 0) != 0) continue;
    auto w = split_words(line.substr(2));
    if (w.size() < 8 || w[7] != "host") continue;
    if (w[4] == ip) {
      ip_present = true;
      continue;
    }
    uint64_t priority = 0;
    std::from_chars(w[3].data(), w[3].data() + w[3].size(), priority);
    priority = std::min<uint64_t>(priority + 1000, 0xffffffffu);
    std::string c = "a=candidate:x" + w[0].substr(10) + " " + w[1] + " " + w[2] + " " + std::to_string(priority) + " " +
                    std::string(ip) + " " + w[5];
    for (size_t i = 6; i < w.size(); ++i) c += " " + w[i];
    extra.push_back(std::move(c));
  }
  flush_extra();
  return out;
}

Result<TrickleFragment> parse_trickle_fragment(std::string_view body, const std::vector<std::string>& mids,
                                               size_t max_bytes, int max_candidates) {
  if (body.size() > max_bytes) return Error{"trickle fragment too large", ErrorReason::too_large, "webrtc"};
  TrickleFragment frag;
  int mline = 0;
  for (std::string_view line : split_lines(body)) {
    if (line.empty()) continue;
    if (line.size() < 2 || line[1] != '=')
      return Error{"malformed trickle fragment line", ErrorReason::invalid, "webrtc"};
    if (line.rfind("a=ice-ufrag:", 0) == 0) {
      frag.ice_ufrag = std::string(line.substr(12));
    } else if (line.rfind("a=mid:", 0) == 0) {
      std::string_view mid = line.substr(6);
      mline = -1;
      for (size_t i = 0; i < mids.size(); ++i)
        if (mids[i] == mid) mline = int(i);
      if (mline < 0) {
        std::string known;
        for (const auto& m : mids) known += (known.empty() ? "" : ", ") + m;
        return Error{"trickle fragment names unknown mid \"" + std::string(mid) + "\" (session has: " + known + ")",
                     ErrorReason::unprocessable, "webrtc"};
      }
    } else if (line.rfind("a=candidate:", 0) == 0) {
      std::string_view value = line.substr(2);
      if (!valid_candidate(value))
        return Error{"malformed candidate: " + std::string(value.substr(0, 80)), ErrorReason::invalid, "webrtc"};
      if (int(frag.candidates.size()) >= max_candidates)
        return Error{"too many candidates in one fragment", ErrorReason::too_large, "webrtc"};
      frag.candidates.push_back({mline, std::string(value)});
    } else if (line == "a=end-of-candidates") {
      frag.end_of_candidates = true;
    }
    // a=ice-pwd, a=group, a=ice-options, m= lines carry nothing we need.
  }
  return frag;
}

}  // namespace estuary::webrtc
