// Owns: the LL-HLS fast path — kept-alive plain-HTTP connections of admitted HLS viewers, taken
// over from libsoup and served by Estuary's own HTTP/1.1 loop: CMAF HLS playlists (blocking reload
// included) and parts/segments, each answer one writev of a head and a shared segment buffer.
// All of its connections sit in one epoll set behind one GLib source (common/epoll_set.h) (libsoup costs a GSource,
// signal closures, timers and two writes per request, with every connection in GLib's poll set), and one timer enforces
// the head and keep-alive deadlines. A request it does not answer (another path or extension, a body, HEAD, a refused
// or new session, DASH's open segment, a stream without a CMAF window) is left unread and the connection goes back to
// libsoup (soup_server_accept_iostream), which serves it as before. Must not know: what a request gets (answer_cmaf
// decides; this only writes it), admission rules (HlsSessions::admitted does), other outputs. Control thread only.
#pragma once

#include <libsoup/soup.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/epoll_set.h"
#include "common/gobject_ptr.h"
#include "server/control/http_routes.h"
#include "server/outputs/hls/cmaf_answer.h"
#include "server/outputs/hls/hls_sessions.h"

namespace estuary::server {

struct CmafFastPathSettings {
  int header_timeout_ms = 10000;     // a started request head must be complete by then
  int keepalive_timeout_ms = 15000;  // between requests (a held request is not idle)
  int write_timeout_ms = 30000;      // an answer must leave by then (a reader that stopped reading)
  size_t max_connections = 20000;    // beyond this, connections stay with libsoup
};

class CmafFastPath : public std::enable_shared_from_this<CmafFastPath> {
 public:
  // http: the HTTP server connections come from and go back to (outlives the fast path); sessions and
  // stream_of: the HLS viewer sessions and how a file name names its stream (as GatedStreamRoutes has them).
  static std::shared_ptr<CmafFastPath> create(StreamRoutes* http, std::shared_ptr<HlsSessions> sessions,
                                              GatedStreamRoutes::StreamOf stream_of,
                                              std::shared_ptr<CmafRegistry> registry, HlsDemandFn demand,
                                              CmafFastPathSettings settings);
  ~CmafFastPath();
  CmafFastPath(const CmafFastPath&) = delete;
  CmafFastPath& operator=(const CmafFastPath&) = delete;

  // Called for a request whose session is admitted: true when the fast path took its connection
  // and answers it; false leaves it to libsoup (plain HTTP/1.1 GET of a CMAF playlist or part only).
  bool take(SoupServerMessage* msg, const std::string& extension, const StreamPath& path);
  size_t connections() const { return conns_.size(); }

 private:
  struct Conn;
  CmafFastPath() = default;
  void on_events(Conn& c, uint32_t events);
  void read_requests(Conn& c);
  // What the fast path does with a request: the client's admitted session and the answer, or nullopt
  // when libsoup's path must take it (no admitted session, or an answer the fast path does not give).
  struct Decision {
    HlsSessions::Admitted admitted;
    CmafAnswer answer;
  };
  std::optional<Decision> decide(const std::string& extension, const StreamPath& path, const std::string& cookie,
                                 const std::string& ip);
  // Starts the decided answer on a connection whose request is consumed from the socket.
  void start(Conn& c, const Decision& d, const std::string& cookie, const std::string& extension,
             const StreamPath& path);
  // Answers a request (already consumed from the socket) now, or holds it until woken.
  void begin(Conn& c, const CmafAnswer& a, const std::string& extension, const StreamPath& path);
  // A held request, woken: answered anew.
  void serve(Conn& c, const std::string& extension, const StreamPath& path);
  void send_text(Conn& c, int status, const std::string& text);
  void send(Conn& c, int status, const char* type, const char* cache, Ref<GBytes> body, bool close_after);
  void flush(Conn& c);
  void give_back(uint64_t id);
  void close(uint64_t id, const char* why);
  void sweep();
  Conn* find(uint64_t id);

  StreamRoutes* http_ = nullptr;
  std::shared_ptr<HlsSessions> sessions_;
  GatedStreamRoutes::StreamOf stream_of_;
  std::shared_ptr<CmafRegistry> registry_;
  HlsDemandFn demand_;
  CmafFastPathSettings settings_;
  std::shared_ptr<EpollSet> epoll_;  // every taken connection (common/epoll_set.h)
  SourceGuard sweeper_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;  // by id (a watch's handler finds its connection by id)
  std::vector<char> read_buf_;  // request heads are peeked into it (control thread only, one at a time)
};

}  // namespace estuary::server
