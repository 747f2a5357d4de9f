// Owns: HLS and DASH viewers as clients. Plain HTTP requests (playlists, segments, parts, init
// segments, MPDs) are grouped into one viewer session per stream and client, told apart by a
// cookie the first answer sets ("estuary_hls", which browsers and ffmpeg send back) or else by the
// client's address, as SRS counts hls-play. A session is registered in the client registry
// ("hls-play" / "dash-play", with bytes sent) and admitted like any other viewer (connection and
// viewer limits, IP rules, on_play hooks with the request's query, so tokens work); requests wait
// while its admission runs and get 403/503 if refused (the next request is admitted anew). A session
// ends after idle_s without a request (on_stop then), or when kicked (its requests are refused for
// kicked_hold_s after).
// Must not know: playlists, segments, the packagers. Control thread only.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/gobject_ptr.h"
#include "server/control/http_routes.h"
#include "server/control/ports.h"

namespace estuary::server {

struct HlsSessionSettings {
  int idle_s = 20;         // a viewer with no request for this long has left
  int kicked_hold_s = 10;  // a kicked viewer's requests are refused for this long
};

class HlsSessions {
 public:
  HlsSessions(ClientRegistry& clients, Admission& admission, HlsSessionSettings settings = {});
  ~HlsSessions();
  HlsSessions(const HlsSessions&) = delete;
  HlsSessions& operator=(const HlsSessions&) = delete;

  // Runs `serve` for a request of stream app/stream once its viewer session is admitted (at once
  // when it already is); otherwise answers the refusal itself. HEAD requests are checked against
  // the rules that need no hook and never make a session. `type` is the client type of the request's
  // kind ("hls-play" for a playlist, "dash-play" for an MPD, nullptr for a segment, which either
  // kind of viewer asks for).
  void gate(SoupServerMessage* msg, const std::string& app, const std::string& stream, const std::string& query,
            const char* type, bool cors, std::function<void()> serve);

  size_t size() const { return sessions_.size(); }
  // For a request served without libsoup (the LL-HLS fast path): the admitted session of the client
  // (by cookie, else by address) for app/stream, its idle clock restarted; nullopt when there is none
  // or it is not admitted (the request then goes through gate()).
  struct Admitted {
    std::shared_ptr<uint64_t> bytes;  // add what the answer writes
    std::string cookie;               // to set when the request carried none
  };
  std::optional<Admitted> admitted(const std::string& app, const std::string& stream, const std::string& cookie,
                                   const std::string& ip);

 private:
  struct Session;
  void sweep();
  void end(const std::string& key, const std::string& reason);
  void forget(const std::shared_ptr<Session>& s);

  ClientRegistry& clients_;
  Admission& admission_;
  HlsSessionSettings settings_;
  using SessionMap = std::map<std::string, std::shared_ptr<Session>>;
  // The session of a client: by cookie, else by address for `type` (nullptr: a segment, either kind).
  SessionMap::iterator find_session(const std::string& key, const std::string& cookie, const std::string& ip,
                                    const char* type);
  SessionMap sessions_;  // by "app/stream|identity" ("|c:COOKIE" or "|a:TYPE:IP")
  SourceGuard sweeper_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A StreamRoutes whose handlers run behind HlsSessions::gate: the HLS and DASH handlers register
// through it (made with make_shared: its handlers keep it alive, so handlers registered through it
// may keep a pointer to it). `stream_of` turns a request's file name (without extension) into the stream name
// ("t-12" -> "t" for a segment); `type` is "hls-play" or "dash-play".
class GatedStreamRoutes final : public StreamRoutes, public std::enable_shared_from_this<GatedStreamRoutes> {
 public:
  using StreamOf = std::function<std::string(const std::string& extension, const std::string& name)>;
  GatedStreamRoutes(StreamRoutes& inner, std::shared_ptr<HlsSessions> sessions, StreamOf stream_of)
      : inner_(inner), sessions_(std::move(sessions)), stream_of_(std::move(stream_of)) {}
  void add_stream_handler(const std::string& extension, StreamHandler handler) override;
  bool cors() const override { return inner_.cors(); }
  SoupServer* soup_server() const override { return inner_.soup_server(); }
  void release_connection(SoupServerMessage* msg) override { inner_.release_connection(msg); }
  void reclaim_connection(GSocket* socket) override { inner_.reclaim_connection(socket); }
  GSocket* connection_socket(SoupServerMessage* msg) override { return inner_.connection_socket(msg); }
  // Asked, once a request's session is admitted, whether it takes the request's connection over (true:
  // it answers the request; the handler is not called).
  using TakeOver = std::function<bool(SoupServerMessage* msg, const std::string& extension, const StreamPath& path)>;
  void set_take_over(TakeOver take_over) { take_over_ = std::move(take_over); }
  const std::shared_ptr<HlsSessions>& sessions() const { return sessions_; }
  const StreamOf& stream_of() const { return stream_of_; }

 private:
  StreamRoutes& inner_;
  std::shared_ptr<HlsSessions> sessions_;
  StreamOf stream_of_;
  TakeOver take_over_;
};

// The stream a HLS/DASH file name belongs to: "t" for "t" (.m3u8, .mpd), "t-12" (.hls.ts, .m4s),
// "t-12.3" and "t-t2-12" (.m4s), "t-0" and "t-t1-0" (-init.mp4).
std::string hls_stream_of(const std::string& extension, const std::string& name);
// Our session cookie's value in a Cookie header ("" when absent or malformed; header may be nullptr),
// and the Set-Cookie value that gives it to a client.
std::string hls_cookie_of(const char* header);
std::string hls_set_cookie(const std::string& cookie);

}  // namespace estuary::server
