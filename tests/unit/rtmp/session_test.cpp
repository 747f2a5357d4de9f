// Owns: Session tests with a scripted client (built from the library's own chunk writer and AMF0
// encoder): connect, createStream, publish/play with accept and reject, media delivery and
// @setDataFrame unwrapping, aggregate messages, unpublish, acknowledgements, pings, unknown
// commands, split input, and hostile input.
#include <gtest/gtest.h>

#include <random>

#include "rtmp_test_util.h"
#include "server/protocols/rtmp/session.h"

namespace estuary::rtmp {
namespace {

using test::Bytes;

struct Recorder : SessionDelegate {
  struct Media {
    MediaType type;
    uint32_t ts;
    Bytes payload;
  };
  std::vector<ConnectInfo> connects;
  std::vector<StreamRequest> publishes, plays;
  std::vector<Media> media;
  int unpublishes = 0, play_stops = 0;
  Session* session = nullptr;
  bool accept_publish_at_once = false;

  void on_connect(const ConnectInfo& info) override { connects.push_back(info); }
  void on_publish_request(const StreamRequest& r) override {
    publishes.push_back(r);
    if (accept_publish_at_once && session != nullptr) session->accept_publish();
  }
  void on_play_request(const StreamRequest& r) override { plays.push_back(r); }
  void on_media(MediaType type, uint32_t ts, const uint8_t* p, size_t n) override {
    media.push_back({type, ts, Bytes(p, p + n)});
  }
  void on_unpublish() override { unpublishes++; }
  void on_play_stop() override { play_stops++; }
};

// What the client sees: handshake bytes, then a chunk stream.
struct Client {
  uint32_t chunk_size = 128;
  size_t handshake_left = 1 + 2 * kHandshakePacketSize;
  ChunkReader reader;
  std::vector<Message> received;

  static Bytes handshake() {
    Bytes b(1 + 2 * kHandshakePacketSize, 0);
    b[0] = 3;
    return b;
  }
  Bytes command(const std::vector<Amf0Value>& values, uint32_t stream_id = 0, uint32_t csid = 3) const {
    Bytes body = test::amf(values);
    return encode_message(csid, msg::amf0_command, 0, stream_id, body.data(), body.size(), chunk_size);
  }
  Bytes message(uint8_t type, uint32_t ts, const Bytes& payload, uint32_t csid = 6, uint32_t stream_id = 1) const {
    return encode_message(csid, type, ts, stream_id, payload.data(), payload.size(), chunk_size);
  }
  void receive(const Bytes& b) {
    size_t pos = std::min(handshake_left, b.size());
    handshake_left -= pos;
    Status st = reader.feed(b.data() + pos, b.size() - pos, received);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
};

std::vector<Amf0Value> values_of(const Message& m) {
  auto r = amf0_decode_all(m.payload.data(), m.payload.size(), 64);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<Amf0Value>{};
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : session(rec, SessionLimits{}) { rec.session = &session; }

  void send(const Bytes& b) {
    Status st = session.feed(b.data(), b.size());
    ASSERT_TRUE(st.ok()) << st.error().message;
    drain();
  }
  void drain() { client.receive(session.take_output()); }

  // Commands the server sent since index `from` with the given name.
  std::vector<std::vector<Amf0Value>> commands(const std::string& name, size_t from = 0,
                                               uint8_t type = msg::amf0_command) {
    std::vector<std::vector<Amf0Value>> out;
    for (size_t i = from; i < client.received.size(); i++) {
      const Message& m = client.received[i];
      if (m.type != type) continue;
      auto v = values_of(m);
      if (!v.empty() && v[0].is_string() && v[0].as_string() == name) out.push_back(v);
    }
    return out;
  }
  // onStatus info objects since index from.
  std::vector<Amf0Value> statuses(size_t from = 0) {
    std::vector<Amf0Value> out;
    for (auto& v : commands("onStatus", from)) {
      if (v.size() >= 4) out.push_back(v[3]);
    }
    return out;
  }

  void handshake() {
    send(Client::handshake());
    EXPECT_TRUE(session.handshake_done());
  }
  void connect(const std::string& app = "live", const std::string& tc_url = "rtmp://127.0.0.1:1935/live",
               const std::vector<std::string>& four_ccs = {}) {
    handshake();
    Amf0Value obj = Amf0Value::object();
    obj.set("app", Amf0Value::string(app));
    if (!four_ccs.empty()) {
      Amf0Value list = Amf0Value::strict_array();
      for (const auto& cc : four_ccs) list.push(Amf0Value::string(cc));
      obj.set("fourCcList", std::move(list));
    }
    obj.set("flashVer", Amf0Value::string("FMLE/3.0 (compatible; FMSc/1.0)"));
    obj.set("tcUrl", Amf0Value::string(tc_url));
    obj.set("objectEncoding", Amf0Value::number(0));
    send(client.command({Amf0Value::string("connect"), Amf0Value::number(1), obj}));
  }
  void create_stream() {
    send(client.command(
        {Amf0Value::string("releaseStream"), Amf0Value::number(2), Amf0Value::null(), Amf0Value::string("test")}));
    send(client.command(
        {Amf0Value::string("FCPublish"), Amf0Value::number(3), Amf0Value::null(), Amf0Value::string("test")}));
    send(client.command({Amf0Value::string("createStream"), Amf0Value::number(4), Amf0Value::null()}));
  }
  void publish(const std::string& name) {
    send(client.command({Amf0Value::string("publish"), Amf0Value::number(5), Amf0Value::null(), Amf0Value::string(name),
                         Amf0Value::string("live")},
                        1, 8));
  }
  void play(const std::string& name) {
    send(client.command({Amf0Value::string("play"), Amf0Value::number(5), Amf0Value::null(), Amf0Value::string(name),
                         Amf0Value::number(-2000)},
                        1, 8));
  }
  void start_publishing() {
    connect();
    create_stream();
    publish("test?token=abc");
    ASSERT_TRUE(session.accept_publish());
    drain();
  }

  Recorder rec;
  Session session;
  Client client;
};

TEST_F(SessionTest, ConnectReply) {
  connect("live?token=x", "rtmp://example.com/live?token=x");
  ASSERT_EQ(rec.connects.size(), 1u);
  EXPECT_EQ(rec.connects[0].app, "live");
  EXPECT_EQ(rec.connects[0].query, "token=x");
  EXPECT_EQ(rec.connects[0].tc_url, "rtmp://example.com/live?token=x");
  EXPECT_EQ(rec.connects[0].flash_ver, "FMLE/3.0 (compatible; FMSc/1.0)");
  EXPECT_TRUE(session.connected());

  auto& r = client.received;
  ASSERT_GE(r.size(), 4u);
  EXPECT_EQ(r[0].type, msg::window_ack_size);
  EXPECT_EQ(*parse_u32_payload(r[0].payload.data(), r[0].payload.size()), 2500000u);
  EXPECT_EQ(r[1].type, msg::set_peer_bandwidth);
  ASSERT_EQ(r[1].payload.size(), 5u);
  EXPECT_EQ(r[2].type, msg::set_chunk_size);
  EXPECT_EQ(*parse_u32_payload(r[2].payload.data(), r[2].payload.size()), 60000u);
  EXPECT_EQ(client.reader.chunk_size(), 60000u);
  EXPECT_EQ(session.out_chunk_size(), 60000u);

  auto results = commands("_result");
  ASSERT_EQ(results.size(), 1u);
  auto& v = results[0];
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[1].as_number(), 1);
  EXPECT_EQ(v[2].get_string("fmsVer").substr(0, 4), "FMS/");
  EXPECT_EQ(v[2].get_number("capabilities"), 127);
  EXPECT_EQ(v[3].get_string("level"), "status");
  EXPECT_EQ(v[3].get_string("code"), "NetConnection.Connect.Success");
  ASSERT_NE(v[3].get("objectEncoding"), nullptr);
  EXPECT_EQ(v[3].get_number("objectEncoding", -1), 0);
  // Enhanced RTMP: the FourCCs we ingest, as a v1 list and v2 info maps.
  const Amf0Value* list = v[2].get("fourCcList");
  ASSERT_NE(list, nullptr);
  ASSERT_EQ(list->type(), Amf0Type::strict_array);
  std::vector<std::string> ccs;
  for (const auto& e : list->elements()) ccs.push_back(e.as_string());
  EXPECT_EQ(ccs, (std::vector<std::string>{"hvc1", "av01", "vp09", "avc1"}));
  const Amf0Value* video_map = v[2].get("videoFourCcInfoMap");
  ASSERT_NE(video_map, nullptr);
  EXPECT_GT(video_map->get_number("hvc1"), 0);
  const Amf0Value* audio_map = v[2].get("audioFourCcInfoMap");
  ASSERT_NE(audio_map, nullptr);
  EXPECT_GT(audio_map->get_number("Opus"), 0);
}

TEST_F(SessionTest, ConnectKeepsTheClientsFourCcList) {
  connect("live", "rtmp://127.0.0.1:1935/live", {"hvc1", "Opus"});
  ASSERT_EQ(rec.connects.size(), 1u);
  EXPECT_EQ(rec.connects[0].four_cc_list, (std::vector<std::string>{"hvc1", "Opus"}));
}

TEST_F(SessionTest, LegacyConnectHasNoFourCcs) {
  connect();
  ASSERT_EQ(rec.connects.size(), 1u);
  EXPECT_TRUE(rec.connects[0].four_cc_list.empty());
}

TEST_F(SessionTest, ConnectAppFromTcUrlWhenMissing) {
  connect("", "rtmp://host:1935/live/sub?k=v");
  ASSERT_EQ(rec.connects.size(), 1u);
  EXPECT_EQ(rec.connects[0].app, "live/sub");
  EXPECT_EQ(rec.connects[0].query, "k=v");
}

TEST(SessionUrl, Helpers) {
  EXPECT_EQ(split_query("test?token=abc"), (std::pair<std::string, std::string>{"test", "token=abc"}));
  EXPECT_EQ(split_query("test"), (std::pair<std::string, std::string>{"test", ""}));
  EXPECT_EQ(app_from_tc_url("rtmp://h/live"), "live");
  EXPECT_EQ(app_from_tc_url("rtmp://h:1935/live/"), "live");
  EXPECT_EQ(app_from_tc_url("rtmp://h"), "");
  EXPECT_EQ(app_from_tc_url("rtmp://h/a/b?x=/y"), "a/b");
}

TEST_F(SessionTest, PublishFlow) {
  connect("live?app_token=1");
  create_stream();
  auto created = commands("_result");
  // connect, releaseStream, FCPublish, createStream.
  ASSERT_EQ(created.size(), 4u);
  EXPECT_EQ(created[3][1].as_number(), 4);
  EXPECT_EQ(created[3][3].as_number(), 1);
  EXPECT_EQ(commands("onFCPublish").size(), 1u);

  size_t before = client.received.size();
  publish("test?token=abc");
  ASSERT_EQ(rec.publishes.size(), 1u);
  EXPECT_EQ(rec.publishes[0].app, "live");
  EXPECT_EQ(rec.publishes[0].stream, "test");
  EXPECT_EQ(rec.publishes[0].query, "token=abc");  // the stream's query wins
  EXPECT_EQ(rec.publishes[0].tc_url, "rtmp://127.0.0.1:1935/live");
  // Nothing is promised before the glue answers.
  EXPECT_TRUE(statuses(before).empty());
  EXPECT_FALSE(session.publishing());

  // Media before the answer is dropped.
  send(client.message(msg::video, 0, {0x17, 0, 0, 0, 0}));
  EXPECT_TRUE(rec.media.empty());

  ASSERT_TRUE(session.accept_publish());
  EXPECT_FALSE(session.accept_publish());
  drain();
  auto st = statuses(before);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].get_string("code"), "NetStream.Publish.Start");
  EXPECT_EQ(st[0].get_string("level"), "status");
  EXPECT_EQ(client.received.back().stream_id, 1u);
  EXPECT_TRUE(session.publishing());

  send(client.message(msg::video, 40, {0x17, 0, 0, 0, 0, 1, 2}));
  send(client.message(msg::audio, 42, {0xAF, 1, 9}, 4));
  send(client.message(msg::audio, 43, {}, 4));  // empty: dropped
  ASSERT_EQ(rec.media.size(), 2u);
  EXPECT_EQ(rec.media[0].type, MediaType::video);
  EXPECT_EQ(rec.media[0].ts, 40u);
  EXPECT_EQ(rec.media[0].payload, (Bytes{0x17, 0, 0, 0, 0, 1, 2}));
  EXPECT_EQ(rec.media[1].type, MediaType::audio);
  EXPECT_EQ(rec.media[1].ts, 42u);

  send(client.command(
      {Amf0Value::string("FCUnpublish"), Amf0Value::number(6), Amf0Value::null(), Amf0Value::string("test")}));
  EXPECT_EQ(rec.unpublishes, 1);
  EXPECT_FALSE(session.publishing());
  send(client.command(
      {Amf0Value::string("deleteStream"), Amf0Value::number(7), Amf0Value::null(), Amf0Value::number(1)}));
  EXPECT_EQ(rec.unpublishes, 1);
}

TEST_F(SessionTest, PublishQueryFallsBackToConnectQuery) {
  connect("live?token=fromapp");
  create_stream();
  publish("cam");
  ASSERT_EQ(rec.publishes.size(), 1u);
  EXPECT_EQ(rec.publishes[0].stream, "cam");
  EXPECT_EQ(rec.publishes[0].query, "token=fromapp");
}

TEST_F(SessionTest, AcceptInsideCallback) {
  rec.accept_publish_at_once = true;
  connect();
  create_stream();
  // publish and the first media in one read: the media must already count.
  Bytes body = test::amf({Amf0Value::string("publish"), Amf0Value::number(5), Amf0Value::null(), Amf0Value::string("s"),
                          Amf0Value::string("live")});
  Bytes both = encode_message(8, msg::amf0_command, 0, 1, body.data(), body.size(), 128);
  Bytes media = client.message(msg::video, 7, {0x27, 1});
  both.insert(both.end(), media.begin(), media.end());
  send(both);
  EXPECT_TRUE(session.publishing());
  ASSERT_EQ(rec.media.size(), 1u);
  EXPECT_EQ(rec.media[0].ts, 7u);
}

TEST_F(SessionTest, SetDataFrameIsUnwrapped) {
  start_publishing();
  Amf0Value meta = Amf0Value::ecma_array();
  meta.set("width", Amf0Value::number(1280));
  Bytes inner = test::amf({Amf0Value::string("onMetaData"), meta});
  Bytes wrapped = test::amf({Amf0Value::string("@setDataFrame"), Amf0Value::string("onMetaData"), meta});
  send(client.message(msg::amf0_data, 0, wrapped, 4));
  ASSERT_EQ(rec.media.size(), 1u);
  EXPECT_EQ(rec.media[0].type, MediaType::data);
  EXPECT_EQ(rec.media[0].payload, inner);
  // A bare onMetaData passes through as is.
  send(client.message(msg::amf0_data, 5, inner, 4));
  ASSERT_EQ(rec.media.size(), 2u);
  EXPECT_EQ(rec.media[1].payload, inner);
  // AMF3 data message (leading format byte).
  Bytes amf3 = {0};
  amf3.insert(amf3.end(), wrapped.begin(), wrapped.end());
  send(client.message(msg::amf3_data, 6, amf3, 4));
  ASSERT_EQ(rec.media.size(), 3u);
  EXPECT_EQ(rec.media[2].payload, inner);
  // Garbage data messages are ignored, not fatal.
  send(client.message(msg::amf0_data, 7, {0xFF, 1, 2}, 4));
  EXPECT_EQ(rec.media.size(), 3u);
}

Bytes aggregate_sub(uint8_t type, uint32_t ts, const Bytes& body) {
  Bytes b;
  b.push_back(type);
  test::put_u24(b, uint32_t(body.size()));
  test::put_u24(b, ts & 0xFFFFFF);
  b.push_back(uint8_t(ts >> 24));
  test::put_u24(b, 0);
  b.insert(b.end(), body.begin(), body.end());
  test::put_u32(b, uint32_t(body.size() + 11));
  return b;
}

TEST_F(SessionTest, AggregateIsSplit) {
  start_publishing();
  Bytes agg;
  for (auto part : {aggregate_sub(msg::video, 5000, {0x17, 1}), aggregate_sub(msg::audio, 5010, {0xAF, 1}),
                    aggregate_sub(msg::video, 5040, {0x27, 1})}) {
    agg.insert(agg.end(), part.begin(), part.end());
  }
  send(client.message(msg::aggregate, 1000, agg));
  ASSERT_EQ(rec.media.size(), 3u);
  EXPECT_EQ(rec.media[0].ts, 1000u);
  EXPECT_EQ(rec.media[1].type, MediaType::audio);
  EXPECT_EQ(rec.media[1].ts, 1010u);
  EXPECT_EQ(rec.media[2].ts, 1040u);
  EXPECT_EQ(rec.media[2].payload, (Bytes{0x27, 1}));

  // A sub-message that claims more than its container is a protocol error.
  Bytes bad = aggregate_sub(msg::video, 0, {1, 2, 3});
  bad[3] = 200;
  Bytes wire = client.message(msg::aggregate, 0, bad);
  EXPECT_FALSE(session.feed(wire.data(), wire.size()).ok());
}

TEST_F(SessionTest, RejectPublish) {
  connect();
  create_stream();
  size_t before = client.received.size();
  publish("taken");
  ASSERT_TRUE(session.reject_publish("NetStream.Publish.BadName", "Stream already publishing."));
  drain();
  auto st = statuses(before);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].get_string("level"), "error");
  EXPECT_EQ(st[0].get_string("code"), "NetStream.Publish.BadName");
  EXPECT_FALSE(session.publishing());
  EXPECT_FALSE(session.accept_publish());
}

TEST_F(SessionTest, EmptyPublishNameIsRejected) {
  connect();
  create_stream();
  Bytes cmd = client.command({Amf0Value::string("publish"), Amf0Value::number(5), Amf0Value::null(),
                              Amf0Value::string(""), Amf0Value::string("live")},
                             1, 8);
  EXPECT_FALSE(session.feed(cmd.data(), cmd.size()).ok());
  EXPECT_TRUE(rec.publishes.empty());
}

TEST_F(SessionTest, PlayAccepted) {
  connect();
  send(client.command({Amf0Value::string("createStream"), Amf0Value::number(2), Amf0Value::null()}));
  size_t before = client.received.size();
  play("test?token=t");
  ASSERT_EQ(rec.plays.size(), 1u);
  EXPECT_EQ(rec.plays[0].stream, "test");
  EXPECT_EQ(rec.plays[0].query, "token=t");
  EXPECT_EQ(client.received.size(), before);
  ASSERT_TRUE(session.accept_play());
  drain();
  EXPECT_TRUE(session.playing());

  auto& r = client.received;
  ASSERT_GT(r.size(), before);
  EXPECT_EQ(r[before].type, msg::user_control);
  auto ev = parse_user_control(r[before].payload.data(), r[before].payload.size());
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->type, uint16_t(UserControlType::stream_begin));
  EXPECT_EQ(ev->value, 1u);
  auto st = statuses(before);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].get_string("code"), "NetStream.Play.Reset");
  EXPECT_EQ(st[1].get_string("code"), "NetStream.Play.Start");
  auto access = commands("|RtmpSampleAccess", before, msg::amf0_data);
  ASSERT_EQ(access.size(), 1u);
  // No onStatus data message: ffmpeg would expose it as an extra data track.
  EXPECT_TRUE(commands("onStatus", before, msg::amf0_data).empty());
  for (size_t i = before; i < r.size(); i++) {
    if (r[i].type != msg::user_control) {
      EXPECT_EQ(r[i].stream_id, 1u);  // control messages use stream 0
    }
  }

  // The shared play stream the glue appends parses on the same connection.
  Bytes shared;
  Bytes video = {0x17, 0, 0, 0, 0, 9, 9};
  ASSERT_TRUE(
      append_play_media(shared, MediaType::video, 0x01000005, video.data(), video.size(), session.out_chunk_size()));
  client.receive(shared);
  EXPECT_EQ(client.received.back().type, msg::video);
  EXPECT_EQ(client.received.back().stream_id, kPlayStreamId);
  EXPECT_EQ(client.received.back().timestamp, 0x01000005u);
  EXPECT_EQ(client.received.back().payload, video);

  session.notify_play_end();
  drain();
  EXPECT_EQ(statuses(before).back().get_string("code"), "NetStream.Play.UnpublishNotify");

  send(client.command(
      {Amf0Value::string("deleteStream"), Amf0Value::number(0), Amf0Value::null(), Amf0Value::number(1)}));
  EXPECT_EQ(rec.play_stops, 1);
  EXPECT_FALSE(session.playing());
  EXPECT_EQ(rec.unpublishes, 0);
}

TEST_F(SessionTest, PlayRejected) {
  connect();
  size_t before = client.received.size();
  play("missing");
  ASSERT_TRUE(session.reject_play("NetStream.Play.StreamNotFound", "No such stream."));
  drain();
  auto st = statuses(before);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].get_string("level"), "error");
  EXPECT_EQ(st[0].get_string("code"), "NetStream.Play.StreamNotFound");
  EXPECT_FALSE(session.playing());
  EXPECT_FALSE(session.accept_play());
}

TEST_F(SessionTest, AcknowledgementAfterWindow) {
  start_publishing();
  Bytes window = test::control_message(msg::window_ack_size, 5000);
  send(window);
  size_t acks = 0;
  uint32_t last_seq = 0;
  for (int i = 0; i < 10; i++) send(client.message(msg::video, i * 40, test::pattern(1000)));
  for (auto& m : client.received) {
    if (m.type != msg::acknowledgement) continue;
    acks++;
    uint32_t seq = *parse_u32_payload(m.payload.data(), m.payload.size());
    EXPECT_GE(seq, last_seq + 5000);  // one per window, carrying the bytes received so far
    last_seq = seq;
  }
  // About 13.5 KB received in all with a 5000-byte window: two acknowledgements so far.
  EXPECT_EQ(acks, 2u);
  EXPECT_LT(session.bytes_received() - last_seq, 5000u);
  EXPECT_GT(session.bytes_received(), 2 * kHandshakePacketSize + 10000);
}

TEST_F(SessionTest, NoAcknowledgementWithoutPeerWindow) {
  start_publishing();
  for (int i = 0; i < 10; i++) send(client.message(msg::video, i * 40, test::pattern(1000)));
  for (auto& m : client.received) EXPECT_NE(m.type, msg::acknowledgement);
}

TEST_F(SessionTest, PingRequestAnsweredAndPingSent) {
  connect();
  Bytes p = user_control_payload(UserControlType::ping_request, 123456);
  size_t before = client.received.size();
  send(encode_message(2, msg::user_control, 0, 0, p.data(), p.size(), 128));
  ASSERT_EQ(client.received.size(), before + 1);
  auto ev = parse_user_control(client.received.back().payload.data(), client.received.back().payload.size());
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->type, uint16_t(UserControlType::ping_response));
  EXPECT_EQ(ev->value, 123456u);

  session.send_ping(777);
  drain();
  ev = parse_user_control(client.received.back().payload.data(), client.received.back().payload.size());
  EXPECT_EQ(ev->type, uint16_t(UserControlType::ping_request));
  EXPECT_EQ(ev->value, 777u);
  Bytes pong = user_control_payload(UserControlType::ping_response, 777);
  send(encode_message(2, msg::user_control, 0, 0, pong.data(), pong.size(), 128));
  ASSERT_TRUE(session.last_ping_response().has_value());
  EXPECT_EQ(*session.last_ping_response(), 777u);

  // Set Buffer Length from a player is accepted silently.
  Bytes sbl = set_buffer_length_payload(1, 3000);
  send(encode_message(2, msg::user_control, 0, 0, sbl.data(), sbl.size(), 128));
}

TEST_F(SessionTest, UnknownCommands) {
  connect();
  size_t before = client.received.size();
  send(client.command({Amf0Value::string("someCall"), Amf0Value::number(9), Amf0Value::null()}));
  auto errors = commands("_error", before);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0][1].as_number(), 9);
  EXPECT_EQ(errors[0][3].get_string("code"), "NetConnection.Call.Failed");
  send(client.command({Amf0Value::string("someCall"), Amf0Value::number(0), Amf0Value::null()}));
  send(client.command({Amf0Value::string("_checkbw"), Amf0Value::number(10), Amf0Value::null()}));
  EXPECT_EQ(commands("_error", before).size(), 1u);
  send(client.command(
      {Amf0Value::string("getStreamLength"), Amf0Value::number(11), Amf0Value::null(), Amf0Value::string("x")}));
  auto results = commands("_result", before);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0][3].as_number(), 0);
}

TEST_F(SessionTest, ClientChunkSizeAndAmf3Command) {
  handshake();
  send(test::control_message(msg::set_chunk_size, 4096));
  client.chunk_size = 4096;
  Amf0Value obj = Amf0Value::object();
  obj.set("app", Amf0Value::string("live"));
  obj.set("swfUrl", Amf0Value::string(std::string(3000, 's')));  // one chunk at 4096, 24 at 128
  Bytes body = {0};
  Bytes amf = test::amf({Amf0Value::string("connect"), Amf0Value::number(1), obj});
  body.insert(body.end(), amf.begin(), amf.end());
  send(encode_message(3, msg::amf3_command, 0, 0, body.data(), body.size(), 4096));
  ASSERT_EQ(rec.connects.size(), 1u);
  EXPECT_EQ(rec.connects[0].swf_url.size(), 3000u);
}

TEST_F(SessionTest, CommandBeforeConnectIsAnError) {
  handshake();
  Bytes cmd =
      client.command({Amf0Value::string("publish"), Amf0Value::number(1), Amf0Value::null(), Amf0Value::string("x")});
  EXPECT_FALSE(session.feed(cmd.data(), cmd.size()).ok());
  // And the session stays failed.
  Bytes again = client.command({Amf0Value::string("connect"), Amf0Value::number(1), Amf0Value::object()});
  EXPECT_FALSE(session.feed(again.data(), again.size()).ok());
}

TEST_F(SessionTest, OversizedCommandIsAnError) {
  connect();
  Bytes cmd = client.command(
      {Amf0Value::string("x"), Amf0Value::number(1), Amf0Value::null(), Amf0Value::string(std::string(70000, 'a'))});
  EXPECT_FALSE(session.feed(cmd.data(), cmd.size()).ok());
}

TEST_F(SessionTest, BadHandshakeVersion) {
  Bytes b = Client::handshake();
  b[0] = 6;
  EXPECT_FALSE(session.feed(b.data(), b.size()).ok());
}

// The whole publisher conversation in one buffer, fed in every split, gives the same callbacks.
TEST(SessionSplit, AnySplitGivesSameResult) {
  Client c;
  Bytes script = Client::handshake();
  auto add = [&](const Bytes& b) { script.insert(script.end(), b.begin(), b.end()); };
  Amf0Value obj = Amf0Value::object();
  obj.set("app", Amf0Value::string("live"));
  obj.set("tcUrl", Amf0Value::string("rtmp://h/live"));
  add(c.command({Amf0Value::string("connect"), Amf0Value::number(1), obj}));
  add(c.command({Amf0Value::string("createStream"), Amf0Value::number(2), Amf0Value::null()}));
  add(c.command({Amf0Value::string("publish"), Amf0Value::number(3), Amf0Value::null(), Amf0Value::string("s"),
                 Amf0Value::string("live")},
                1, 8));
  for (uint32_t i = 0; i < 20; i++) add(c.message(i % 2 ? msg::audio : msg::video, i * 20, test::pattern(300 + i)));
  add(c.command({Amf0Value::string("FCUnpublish"), Amf0Value::number(4), Amf0Value::null(), Amf0Value::string("s")}));

  auto run = [&](size_t max_piece, uint32_t seed) {
    Recorder rec;
    rec.accept_publish_at_once = true;
    Session s(rec);
    rec.session = &s;
    std::mt19937 rng(seed);
    size_t pos = 0;
    while (pos < script.size()) {
      size_t n = std::min<size_t>(script.size() - pos, 1 + rng() % max_piece);
      EXPECT_TRUE(s.feed(script.data() + pos, n).ok());
      pos += n;
    }
    EXPECT_EQ(rec.unpublishes, 1);
    return rec.media;
  };
  auto whole = run(script.size(), 1);
  ASSERT_EQ(whole.size(), 20u);
  for (auto [piece, seed] : {std::pair<size_t, uint32_t>{1, 1}, {7, 2}, {100, 3}, {2000, 4}}) {
    auto parts = run(piece, seed);
    ASSERT_EQ(parts.size(), whole.size());
    for (size_t i = 0; i < whole.size(); i++) {
      EXPECT_EQ(parts[i].ts, whole[i].ts);
      EXPECT_EQ(parts[i].payload, whole[i].payload);
    }
  }
}

TEST(SessionHostile, RandomBytesAfterHandshake) {
  std::mt19937 rng(31337);
  for (int i = 0; i < 2000; i++) {
    Recorder rec;
    rec.accept_publish_at_once = true;
    Session s(rec);
    rec.session = &s;
    Bytes hs = Client::handshake();
    ASSERT_TRUE(s.feed(hs.data(), hs.size()).ok());
    Bytes junk(1 + rng() % 400);
    for (auto& x : junk) x = uint8_t(rng());
    (void)s.feed(junk.data(), junk.size());
    (void)s.take_output();
  }
}

TEST(SessionHostile, MutatedConversation) {
  Client c;
  Bytes script;
  Amf0Value obj = Amf0Value::object();
  obj.set("app", Amf0Value::string("live"));
  Bytes connect = c.command({Amf0Value::string("connect"), Amf0Value::number(1), obj});
  Bytes publish = c.command({Amf0Value::string("publish"), Amf0Value::number(3), Amf0Value::null(),
                             Amf0Value::string("s"), Amf0Value::string("live")},
                            1, 8);
  Bytes media = c.message(msg::aggregate, 10, aggregate_sub(msg::video, 3, test::pattern(50)));
  for (const Bytes* b : {&connect, &publish, &media}) script.insert(script.end(), b->begin(), b->end());
  std::mt19937 rng(5150);
  for (int i = 0; i < 3000; i++) {
    Recorder rec;
    rec.accept_publish_at_once = true;
    Session s(rec);
    rec.session = &s;
    Bytes hs = Client::handshake();
    ASSERT_TRUE(s.feed(hs.data(), hs.size()).ok());
    Bytes b = script;
    int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; f++) b[rng() % b.size()] = uint8_t(rng());
    (void)s.feed(b.data(), b.size());
  }
}

}  // namespace
}  // namespace estuary::rtmp
