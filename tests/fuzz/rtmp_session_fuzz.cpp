// Owns: the libFuzzer target of the RTMP session (chunk stream, protocol control, AMF0 commands,
// aggregate and data messages) after a fixed simple handshake, with a delegate that accepts or
// rejects publish and play by an input bit. Must not know: sockets or the supervisor.
#include <cstdint>
#include <vector>

#include "server/protocols/rtmp/session.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace estuary::rtmp;

class Delegate : public SessionDelegate {
 public:
  Session* session = nullptr;
  bool accept = true;
  uint8_t touched = 0;
  void on_connect(const ConnectInfo&) override {}
  void on_publish_request(const StreamRequest&) override {
    if (accept)
      session->accept_publish();
    else
      session->reject_publish("NetStream.Publish.BadName", "no");
  }
  void on_play_request(const StreamRequest&) override {
    if (accept)
      session->accept_play();
    else
      session->reject_play("NetStream.Play.StreamNotFound", "no");
  }
  void on_media(MediaType, uint32_t, const uint8_t* payload, size_t size) override {
    for (size_t i = 0; i < size; i += 997) touched ^= payload[i];  // reads the payload ASan watches
  }
  void on_unpublish() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  uint8_t control = in.byte();
  size_t piece = 1 + (control & 0x7F) * 8u;
  Delegate delegate;
  delegate.accept = (control & 0x80) == 0;
  SessionLimits limits;
  limits.max_message_size = 1u << 16;
  limits.max_command_size = 4u << 10;
  limits.max_aggregate_messages = 64;
  limits.max_partial_streams = 8;
  Session session(delegate, limits);
  delegate.session = &session;
  // C0 + C1 (zeros: no client digest, so the simple handshake) and C2.
  std::vector<uint8_t> hs(1 + 2 * kHandshakePacketSize, 0);
  hs[0] = kRtmpVersion;
  if (!session.feed(hs.data(), hs.size()).ok()) return 0;
  session.take_output();
  while (in.remaining() > 0) {
    size_t n = std::min(piece, in.remaining());
    const uint8_t* p = in.rest();
    in.take(n);
    estuary::Status st = session.feed(p, n);
    session.take_output();
    if (!st.ok()) break;
    if ((control & 0x40) && session.playing()) session.notify_play_end();
  }
  return 0;
}
