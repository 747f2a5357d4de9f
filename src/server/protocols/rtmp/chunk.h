// Owns: the RTMP chunk stream layer. ChunkReader is an incremental, bounded parser that turns any
// split of input bytes into complete messages (all four header formats, 1/2/3-byte basic headers,
// extended timestamps with or without repetition on type-3 chunks, interleaving, Set Chunk Size and
// Abort). The writer is stateless: every message starts with a type-0 header and continues with
// type-3 chunks, so one encoded byte stream can be shared by every player of a live stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace estuary::rtmp {

inline constexpr uint32_t kDefaultChunkSize = 128;  // until a Set Chunk Size says otherwise
inline constexpr uint32_t kMinCsid = 2;
inline constexpr uint32_t kMaxCsid = 65599;
inline constexpr uint32_t kMaxMessageLength = 0xFFFFFF;  // 3-byte length field
inline constexpr uint32_t kTimestampExtended = 0xFFFFFF;

// Message type ids.
namespace msg {
inline constexpr uint8_t set_chunk_size = 1;
inline constexpr uint8_t abort = 2;
inline constexpr uint8_t acknowledgement = 3;
inline constexpr uint8_t user_control = 4;
inline constexpr uint8_t window_ack_size = 5;
inline constexpr uint8_t set_peer_bandwidth = 6;
inline constexpr uint8_t audio = 8;
inline constexpr uint8_t video = 9;
inline constexpr uint8_t amf3_data = 15;
inline constexpr uint8_t amf3_shared_object = 16;
inline constexpr uint8_t amf3_command = 17;
inline constexpr uint8_t amf0_data = 18;
inline constexpr uint8_t amf0_shared_object = 19;
inline constexpr uint8_t amf0_command = 20;
inline constexpr uint8_t aggregate = 22;
}  // namespace msg

// Chunk stream ids this server writes on. The shared play byte stream uses media/data ids with
// message stream id 1; per-connection control and commands use the others, so the two never
// share a chunk stream.
namespace csid {
inline constexpr uint32_t protocol_control = 2;
inline constexpr uint32_t command = 3;         // NetConnection commands (stream id 0)
inline constexpr uint32_t stream_command = 5;  // NetStream commands / onStatus (stream id 1)
inline constexpr uint32_t video = 6;
inline constexpr uint32_t audio = 7;
inline constexpr uint32_t data = 8;  // onMetaData, |RtmpSampleAccess
}  // namespace csid

struct Message {
  uint32_t csid = 0;
  uint8_t type = 0;
  uint32_t timestamp = 0;  // absolute, milliseconds, wraps at 2^32
  uint32_t stream_id = 0;  // message stream id
  std::vector<uint8_t> payload;
};

struct ChunkReaderLimits {
  size_t max_message_size = 8u << 20;     // declared message length above this is an Error
  uint32_t max_chunk_size = 65536;        // Set Chunk Size above this is an Error
  size_t max_partial_streams = 64;        // chunk streams holding an incomplete message at once
  size_t max_chunk_streams = 256;         // chunk streams whose headers are remembered
  size_t max_buffered_bytes = 32u << 20;  // payload bytes held in incomplete messages, all streams
};

class ChunkReader {
 public:
  explicit ChunkReader(ChunkReaderLimits limits = {});

  // Consumes all of data and appends every message it completes to out. Set Chunk Size and Abort
  // are applied here (and still returned) because they change how the following bytes parse.
  // After an Error the reader is failed and every later call returns an Error.
  Status feed(const uint8_t* data, size_t size, std::vector<Message>& out);

  uint32_t chunk_size() const { return chunk_size_; }
  size_t partial_streams() const { return partial_streams_; }
  size_t buffered_bytes() const { return buffered_; }
  bool failed() const { return failed_; }

 private:
  // Whether a type-3 chunk after an extended-timestamp header repeats the 4-byte field. Encoders
  // disagree; decided per chunk stream on the first such chunk by comparing the next four bytes.
  enum class ExtRepeat : uint8_t { unknown, repeated, omitted };

  struct Stream {
    bool has_header = false;
    uint8_t type = 0;
    uint32_t length = 0;
    uint32_t stream_id = 0;
    uint32_t timestamp = 0;  // absolute timestamp of the current (or last) message
    uint32_t delta = 0;      // last timestamp field value: what a type-3 new message adds
    bool extended = false;   // last type 0/1/2 header used the extended timestamp field
    uint32_t extended_value = 0;
    ExtRepeat ext_repeat = ExtRepeat::unknown;
    bool in_progress = false;
    std::vector<uint8_t> payload;
  };

  struct Header {
    uint8_t fmt = 0;
    uint32_t csid = 0;
    uint32_t ts_field = 0;
    uint32_t length = 0;
    uint8_t type = 0;
    uint32_t stream_id = 0;
    bool has_ext = false;  // four extended-timestamp bytes were consumed
    uint32_t ext = 0;
    bool ext_decided_repeat = false;  // type 3: the unknown convention resolved to "repeated"
    bool ext_decided_omit = false;    // type 3: the unknown convention resolved to "omitted"
    size_t consumed = 0;
  };
  enum class ParseResult { ok, need_more, error };

  ParseResult parse_header(const uint8_t* p, size_t n, Header& h, Error& err) const;
  Status apply_header(const Header& h, std::vector<Message>& out);
  Status start_message(Stream& s, uint32_t csid_value, std::vector<Message>& out);
  Status take_payload(const uint8_t* p, size_t n, std::vector<Message>& out);
  Status complete_message(uint32_t csid_value, Stream& s, std::vector<Message>& out);
  Status apply_control(const Message& m);
  void discard_partial(Stream& s);
  Status fail(Error e);

  ChunkReaderLimits limits_;
  uint32_t chunk_size_ = kDefaultChunkSize;
  std::unordered_map<uint32_t, Stream> streams_;
  size_t partial_streams_ = 0;
  size_t buffered_ = 0;
  std::vector<uint8_t> header_buf_;  // an incomplete chunk header carried between feeds
  uint32_t payload_csid_ = 0;        // chunk stream whose chunk payload is being read
  size_t payload_left_ = 0;          // bytes of the current chunk's payload still to come
  bool failed_ = false;
  Error error_;
};

// Appends one message as chunks: type-0 header, then type-3 continuations (each repeating the
// extended timestamp when timestamp >= 0xFFFFFF). Depends on no connection state. Returns false
// (appending nothing) for a csid outside 2..65599 or a payload above 0xFFFFFF bytes; a chunk_size
// of 0 is treated as 1.
bool append_message(std::vector<uint8_t>& out, uint32_t csid, uint8_t type, uint32_t timestamp, uint32_t stream_id,
                    const uint8_t* payload, size_t size, uint32_t chunk_size);
// As append_message into a new vector (empty on invalid arguments).
std::vector<uint8_t> encode_message(uint32_t csid, uint8_t type, uint32_t timestamp, uint32_t stream_id,
                                    const uint8_t* payload, size_t size, uint32_t chunk_size);
// Exact size append_message would add.
size_t encoded_message_size(uint32_t csid, uint32_t timestamp, size_t size, uint32_t chunk_size);

}  // namespace estuary::rtmp
