// Owns: the STUN messages of ICE-lite (RFC 8489, RFC 8445 §7.3): parsing a Binding request, checking
// its MESSAGE-INTEGRITY (HMAC-SHA1 keyed with our ice-pwd) and FINGERPRINT (CRC-32), and writing the
// Binding success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT.
// Must not know: sockets, sessions, threads. Pure and bounded: every length is checked against the
// datagram before it is read.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace estuary::webrtc::engine {

// RFC 7983 demultiplexing by the first byte of a datagram.
enum class PacketKind { stun, dtls, rtp_rtcp, unknown };
PacketKind classify_datagram(const uint8_t* data, size_t len);

struct StunRequest {
  uint8_t transaction[12] = {};
  std::string username;  // "ours:theirs" (the receiver's ufrag first)
  bool use_candidate = false;
  bool has_integrity = false;
  bool has_fingerprint = false;
  size_t integrity_offset = 0;  // where MESSAGE-INTEGRITY starts (for the HMAC check)
};

// Parses a STUN Binding request; false for anything else or anything malformed (attributes past the
// end, bad cookie, bad FINGERPRINT).
bool parse_binding_request(const uint8_t* data, size_t len, StunRequest* out);
// True if the request's MESSAGE-INTEGRITY was made with `password` (short-term credentials).
bool check_integrity(const uint8_t* data, size_t len, const StunRequest& req, std::string_view password);
// The Binding success response to `req`, telling the peer the address it came from.
std::vector<uint8_t> binding_success(const StunRequest& req, const sockaddr_storage& from, std::string_view password);
// A Binding request as an ICE agent sends it (clients, tests): USERNAME, optionally USE-CANDIDATE,
// MESSAGE-INTEGRITY keyed with the peer's password, FINGERPRINT.
std::vector<uint8_t> binding_request(const uint8_t transaction[12], std::string_view username,
                                     std::string_view password, bool use_candidate);
// Parses a Binding success response: its transaction and XOR-MAPPED-ADDRESS (IPv4 "a.b.c.d:port").
bool parse_binding_success(const uint8_t* data, size_t len, uint8_t transaction[12], std::string* mapped);
// The local ufrag of a USERNAME ("ours:theirs" -> "ours").
std::string_view local_ufrag(std::string_view username);

uint32_t crc32(const uint8_t* data, size_t len);

}  // namespace estuary::webrtc::engine
