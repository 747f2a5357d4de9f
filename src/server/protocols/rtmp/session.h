// Owns: the per-connection RTMP state machine, I/O-free. The server glue feeds received bytes in,
// sends what take_output() returns, and answers publish/play requests (possibly later, after a
// hook) with accept_*/reject_*. The session covers handshake, chunking, protocol control
// (acknowledgements, pings), NetConnection/NetStream commands, and media from a publisher
// (including aggregate messages). Media to a player is not sent from here: the glue appends the
// shared per-stream byte stream (see append_play_media) after accept_play(), on the same
// connection, between whole outputs of take_output().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/amf0.h"
#include "common/result.h"
#include "server/protocols/rtmp/chunk.h"
#include "server/protocols/rtmp/handshake.h"
#include "server/protocols/rtmp/protocol_control.h"

namespace estuary::rtmp {

enum class MediaType : uint8_t { audio = 8, video = 9, data = 18 };

struct ConnectInfo {
  std::string app;  // without query and surrounding slashes; from tcUrl's path when connect has none
  std::string tc_url, page_url, swf_url, flash_ver;
  std::string query;  // text after '?' in the connect app, else in tcUrl
  double object_encoding = 0;
  // Enhanced RTMP: the FourCCs the client declared in connect's fourCcList ("*" = any); empty for a
  // legacy client.
  std::vector<std::string> four_cc_list;
};

struct StreamRequest {
  std::string app, stream, query, tc_url;  // e.g. "live", "test", "token=abc"
};

// Callbacks run inside Session::feed(). They may call accept_*/reject_* right away but must not
// destroy the session or call feed().
class SessionDelegate {
 public:
  virtual ~SessionDelegate() = default;
  virtual void on_connect(const ConnectInfo& info) = 0;
  virtual void on_publish_request(const StreamRequest& request) = 0;  // answer: accept_publish / reject_publish
  virtual void on_play_request(const StreamRequest& request) = 0;     // answer: accept_play / reject_play
  // Only after accept_publish. Data messages arrive with an "@setDataFrame" wrapper removed, so
  // the payload of metadata is a plain onMetaData AMF0 body. Empty audio/video messages are dropped.
  virtual void on_media(MediaType type, uint32_t timestamp_ms, const uint8_t* payload, size_t size) = 0;
  virtual void on_unpublish() = 0;  // FCUnpublish / deleteStream / closeStream by the publisher
  // A playing client stopped (deleteStream / closeStream); the connection may stay open.
  virtual void on_play_stop() {}
};

struct SessionLimits {
  size_t max_message_size = 8u << 20;
  uint32_t out_chunk_size = 60000;      // announced after connect; the shared play stream must match
  uint32_t window_ack_size = 2500000;   // our Window Ack Size and Set Peer Bandwidth
  size_t max_command_size = 64u << 10;  // an AMF command message larger than this is an Error
  size_t max_command_values = 32;
  size_t max_command_name = 128;
  size_t max_aggregate_messages = 4096;  // sub-messages in one aggregate message
  size_t max_partial_streams = 64;       // chunk streams holding an incomplete message at once
};

class Session {
 public:
  Session(SessionDelegate& delegate, SessionLimits limits = {});

  // Error = protocol violation: the caller should send take_output() (best effort) and close.
  Status feed(const uint8_t* data, size_t size);
  // Bytes to send now; always whole handshake packets or whole RTMP messages.
  std::vector<uint8_t> take_output();
  bool has_output() const { return !out_.empty(); }

  // Answers to on_publish_request / on_play_request. Each returns false (and does nothing) when no
  // such request is pending, e.g. the client already deleted the stream.
  bool accept_publish();
  bool reject_publish(const std::string& code, const std::string& description);  // e.g. NetStream.Publish.BadName
  bool accept_play();
  bool reject_play(const std::string& code, const std::string& description);  // e.g. NetStream.Play.StreamNotFound
  // Tells a player the stream ended (User Control Stream EOF + onStatus NetStream.Play.UnpublishNotify).
  void notify_play_end();

  void send_ping(uint32_t timestamp);
  std::optional<uint32_t> last_ping_response() const { return last_ping_response_; }

  void set_log_id(std::string id) { log_id_ = std::move(id); }

  bool handshake_done() const { return handshake_.done(); }
  HandshakeKind handshake_kind() const { return handshake_.kind(); }
  bool connected() const { return connected_; }
  bool publishing() const { return state_ == StreamState::publishing; }
  bool playing() const { return state_ == StreamState::playing; }
  uint64_t bytes_received() const { return ack_.total(); }  // every byte fed, handshake included
  uint32_t out_chunk_size() const { return out_chunk_size_; }
  const ConnectInfo& connect_info() const { return connect_; }
  const StreamRequest& stream_request() const { return request_; }
  size_t dropped_media() const { return dropped_media_; }

 private:
  enum class StreamState : uint8_t { idle, publish_pending, publishing, play_pending, playing };

  Status handle_message(const Message& m);
  Status handle_control(const Message& m);
  Status handle_command(const Message& m);
  Status handle_data(const uint8_t* payload, size_t size, uint32_t timestamp);
  Status handle_aggregate(const Message& m);
  void deliver_media(MediaType type, uint32_t timestamp, const uint8_t* payload, size_t size);

  // Command handlers (session_commands.cpp).
  Status on_connect_command(double txn, const std::vector<Amf0Value>& args);
  Status on_publish_command(double txn, const std::vector<Amf0Value>& args, uint32_t stream_id);
  Status on_play_command(double txn, const std::vector<Amf0Value>& args, uint32_t stream_id);
  void on_stream_closed(const char* why);
  StreamRequest make_request(std::string_view name) const;
  std::string stream_label() const;  // "app/stream" for logs, "" before publish/play

  // Output helpers.
  void send_command(uint32_t chunk_stream, uint32_t stream_id, const std::vector<Amf0Value>& values);
  void send_data(uint32_t stream_id, const std::vector<Amf0Value>& values);
  void send_result(double txn, Amf0Value value);
  void send_status(const char* level, const std::string& code, const std::string& description);

  SessionDelegate& delegate_;
  SessionLimits limits_;
  ServerHandshake handshake_;
  ChunkReader reader_;
  AckTracker ack_;
  std::vector<uint8_t> out_;
  uint32_t out_chunk_size_ = kDefaultChunkSize;
  bool connected_ = false;
  bool failed_ = false;
  Error error_;
  StreamState state_ = StreamState::idle;
  uint32_t stream_msg_id_ = 1;  // message stream id of the publish/play, for onStatus
  ConnectInfo connect_;
  StreamRequest request_;
  std::optional<uint32_t> last_ping_response_;
  size_t dropped_media_ = 0;
  std::string log_id_;
};

// The message stream id every play uses (createStream always answers 1).
inline constexpr uint32_t kPlayStreamId = 1;

// Chunk stream id the shared play byte stream uses for a media type.
uint32_t play_media_csid(MediaType type);
// Appends one media message of the shared play byte stream (message stream 1, type-0 header,
// no connection state): the form every player of a stream receives after accept_play().
bool append_play_media(std::vector<uint8_t>& out, MediaType type, uint32_t timestamp, const uint8_t* payload,
                       size_t size, uint32_t chunk_size);

// "test?token=abc" -> {"test", "token=abc"}; no '?' -> {s, ""}.
std::pair<std::string, std::string> split_query(std::string_view s);
// "rtmp://host:1935/live/sub?x=1" -> "live/sub" (path without query and surrounding slashes).
std::string app_from_tc_url(std::string_view tc_url);

}  // namespace estuary::rtmp
