// Owns: estuary-ertmp-publish, the test publisher of enhanced RTMP (Debian's ffmpeg 5.1 cannot send it).
//   estuary-ertmp-publish [--legacy] [--hostile=KIND] [--loop=N] [--capture=OUT.bin] FILE rtmp://host:port/app/stream
// Reads FILE (MP4/MKV/TS with HEVC, AV1, VP9 or H.264 and AAC or Opus) with GStreamer's parsebin and
// the codec parsers, then publishes it in real time: enhanced RTMP video (FourCC hvc1/av01/vp09/avc1,
// SequenceStart, CodedFrames with composition time for AVC/HEVC, CodedFramesX when it is 0),
// audio as legacy AAC or enhanced Opus. --legacy sends HEVC with the FLV codec id 12 (H.264: 7).
// --hostile sends one malformed message first: unknown-fourcc, truncated-seq (a cut hvcC),
// absurd-hvcc (an hvcC promising 65535 NAL units). Exit status: 0 when everything was sent and the
// server kept the connection, 3 when the server closed it, 1 on any other failure. --capture writes
// every byte sent to the server (handshake, commands, media: the client side of the session) to
// OUT.bin, the form of the replay fixtures in tests/e2e/fixtures.
// Must not know: the server's code (a separate client; the chunk writer and AMF0 come from the load tool).
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/pbutils/codec-utils.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipelines/flv_tags.h"
#include "pipelines/flv_writer.h"
#include "rtmp.h"

using namespace estuary::load;
using Bytes = std::vector<uint8_t>;
namespace pipelines = estuary::pipelines;

namespace {

struct Sample {
  bool video;
  int64_t dts_ms, cts_ms;
  bool key;
  Bytes data;
};

struct Track {
  std::string codec;  // "h264", "h265", "av1", "vp9", "aac", "opus"
  Bytes config;
};

struct Media {
  std::mutex mu;
  Track video, audio;
  std::vector<Sample> samples;
};

Bytes bytes_of(GstBuffer* b) {
  GstMapInfo map;
  if (!gst_buffer_map(b, &map, GST_MAP_READ)) return {};
  Bytes out(map.data, map.data + map.size);
  gst_buffer_unmap(b, &map);
  return out;
}

// Track configuration from the appsink caps: codec_data, or an OpusHead made from the Opus caps.
void set_track(Media* m, bool video, GstCaps* caps) {
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const std::string name = gst_structure_get_name(s);
  Track& t = video ? m->video : m->audio;
  if (!t.codec.empty()) return;
  if (name == "video/x-h264")
    t.codec = "h264";
  else if (name == "video/x-h265")
    t.codec = "h265";
  else if (name == "video/x-av1")
    t.codec = "av1";
  else if (name == "video/x-vp9")
    t.codec = "vp9";
  else if (name == "audio/mpeg")
    t.codec = "aac";
  else if (name == "audio/x-opus")
    t.codec = "opus";
  const GValue* cd = gst_structure_get_value(s, "codec_data");
  if (cd && GST_VALUE_HOLDS_BUFFER(cd)) t.config = bytes_of(gst_value_get_buffer(cd));
  if (t.codec == "opus") {
    guint32 rate = 48000;
    guint8 channels = 2, family = 0, streams = 1, coupled = 1, mapping[256];
    if (gst_codec_utils_opus_parse_caps(caps, &rate, &channels, &family, &streams, &coupled, mapping)) {
      GstBuffer* head = gst_codec_utils_opus_create_header(rate, channels, family, streams, coupled,
                                                           family ? mapping : nullptr, 312, 0);
      if (head) {
        t.config = bytes_of(head);
        gst_buffer_unref(head);
      }
    }
  }
  if (t.codec == "vp9" && t.config.empty()) {
    // vpcC (version 1): profile 0, level 1.0, 8 bit 4:2:0, BT.709, no codec init data.
    t.config = {1, 0, 0, 0, 0, 10, 0x82, 1, 1, 1, 0, 0};
  }
}

GstFlowReturn on_sample(GstAppSink* sink, gpointer data) {
  auto* m = static_cast<Media*>(data);
  const bool video = g_object_get_data(G_OBJECT(sink), "video") != nullptr;
  GstSample* s = gst_app_sink_pull_sample(sink);
  if (!s) return GST_FLOW_EOS;
  GstBuffer* b = gst_sample_get_buffer(s);
  std::lock_guard<std::mutex> lock(m->mu);
  set_track(m, video, gst_sample_get_caps(s));
  GstClockTime dts = GST_BUFFER_DTS_OR_PTS(b);
  if (GST_CLOCK_TIME_IS_VALID(dts)) {
    Sample out;
    out.video = video;
    out.dts_ms = int64_t(dts / GST_MSECOND);
    out.cts_ms = GST_BUFFER_PTS_IS_VALID(b) ? int64_t(GST_BUFFER_PTS(b) / GST_MSECOND) - out.dts_ms : 0;
    out.key = !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
    out.data = bytes_of(b);
    m->samples.push_back(std::move(out));
  }
  gst_sample_unref(s);
  return GST_FLOW_OK;
}

// parsebin pad → parser with the stream format E-RTMP carries → appsink.
void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
  auto* m = static_cast<Media*>(data);
  GstCaps* caps = gst_pad_query_caps(pad, nullptr);
  const std::string name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  gst_caps_unref(caps);
  std::string chain;
  const bool video = name.rfind("video/", 0) == 0;
  if (name == "video/x-h264")
    chain = "h264parse ! video/x-h264,stream-format=avc,alignment=au";
  else if (name == "video/x-h265")
    chain = "h265parse ! video/x-h265,stream-format=hvc1,alignment=au";
  else if (name == "video/x-av1")
    chain = "av1parse ! video/x-av1,stream-format=obu-stream,alignment=tu";
  else if (name == "video/x-vp9")
    chain = "vp9parse";
  else if (name == "audio/mpeg")
    chain = "aacparse ! audio/mpeg,mpegversion=4,stream-format=raw";
  else if (name == "audio/x-opus")
    chain = "opusparse";
  else
    return;
  {
    std::lock_guard<std::mutex> lock(m->mu);
    Track& t = video ? m->video : m->audio;
    if (!t.codec.empty() || g_object_get_data(G_OBJECT(pad), "taken")) return;
  }
  GError* err = nullptr;
  GstElement* bin = gst_parse_bin_from_description((chain + " ! appsink sync=false async=false").c_str(), TRUE, &err);
  if (!bin) {
    std::fprintf(stderr, "ertmp-publish: %s\n", err ? err->message : "bad chain");
    if (err) g_error_free(err);
    return;
  }
  GstElement* pipeline = GST_ELEMENT(gst_element_get_parent(gst_pad_get_parent_element(pad)));
  gst_bin_add(GST_BIN(pipeline), bin);
  GstIterator* it = gst_bin_iterate_sinks(GST_BIN(bin));
  GValue v = G_VALUE_INIT;
  if (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    GstElement* sink = GST_ELEMENT(g_value_get_object(&v));
    if (video) g_object_set_data(G_OBJECT(sink), "video", GINT_TO_POINTER(1));
    GstAppSinkCallbacks cb{};
    cb.new_sample = on_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, m, nullptr);
    g_value_unset(&v);
  }
  gst_iterator_free(it);
  GstPad* sinkpad = gst_element_get_static_pad(bin, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  gst_element_sync_state_with_parent(bin);
  gst_object_unref(pipeline);
}

bool read_file(const std::string& path, Media& m) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(("filesrc location=\"" + path + "\" ! parsebin name=pb").c_str(), &err);
  if (!p) {
    std::fprintf(stderr, "ertmp-publish: %s\n", err ? err->message : "cannot read");
    return false;
  }
  GstElement* pb = gst_bin_get_by_name(GST_BIN(p), "pb");
  g_signal_connect(pb, "pad-added", G_CALLBACK(on_pad_added), &m);
  gst_object_unref(pb);
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(p);
  GstMessage* msg =
      gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  bool ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (msg && !ok) {
    GError* e = nullptr;
    gst_message_parse_error(msg, &e, nullptr);
    std::fprintf(stderr, "ertmp-publish: %s: %s\n", path.c_str(), e ? e->message : "error");
    if (e) g_error_free(e);
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  std::stable_sort(m.samples.begin(), m.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.dts_ms < b.dts_ms; });
  return ok && !m.samples.empty();
}

// ---- RTMP client ----
struct Url {
  std::string host, port = "1935", app, stream, tc_url;
};

bool parse_url(const std::string& url, Url* u) {
  if (url.rfind("rtmp://", 0) != 0) return false;
  std::string rest = url.substr(7);
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return false;
  std::string hostport = rest.substr(0, slash);
  std::string path = rest.substr(slash + 1);
  size_t colon = hostport.find(':');
  u->host = hostport.substr(0, colon);
  if (colon != std::string::npos) u->port = hostport.substr(colon + 1);
  size_t last = path.rfind('/');
  if (last == std::string::npos) return false;
  u->app = path.substr(0, last);
  u->stream = path.substr(last + 1);
  u->tc_url = "rtmp://" + hostport + "/" + u->app;
  return !u->app.empty() && !u->stream.empty();
}

class Client {
 public:
  explicit Client(bool keep_media = false) : reader_(keep_media) {}
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
    if (capture_) std::fclose(capture_);
  }
  bool connect(const Url& u) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &res) != 0 || !res) return false;
    fd_ = socket(res->ai_family, SOCK_STREAM, 0);
    const bool ok = fd_ >= 0 && ::connect(fd_, res->ai_addr, res->ai_addrlen) == 0;
    freeaddrinfo(res);
    return ok;
  }
  // Every byte sent from now on is also appended to `path`.
  bool capture_to(const std::string& path) {
    capture_ = std::fopen(path.c_str(), "wb");
    return capture_ != nullptr;
  }
  bool send(const Bytes& b) {
    if (capture_) std::fwrite(b.data(), 1, b.size(), capture_);
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        closed_ = true;
        return false;
      }
      off += size_t(n);
    }
    return true;
  }
  bool read_exact(uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= size_t(r);
    }
    return true;
  }
  // Reads what is there (waiting up to timeout_ms) and feeds the chunk reader; false once closed.
  template <typename F>
  bool pump(int timeout_ms, F&& on_msg) {
    pollfd pfd{fd_, POLLIN, 0};
    while (poll(&pfd, 1, timeout_ms) > 0) {
      uint8_t buf[16384];
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r <= 0) {
        closed_ = true;
        return false;
      }
      if (!reader_.feed(buf, size_t(r), on_msg)) {
        closed_ = true;
        return false;
      }
      timeout_ms = 0;
    }
    return !closed_;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::FILE* capture_ = nullptr;
  ChunkReader reader_;
};

constexpr uint32_t kChunk = 4096;
constexpr uint32_t kCsidCommand = 3, kCsidAudio = 4, kCsidVideo = 6, kCsidStream = 8;

void command(Bytes& out, uint32_t csid, uint32_t sid, AmfWriter& w) {
  write_chunked(out, csid, kCommandAmf0, 0, sid, w.bytes().data(), w.bytes().size(), kChunk);
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

pipelines::MediaCodec codec_of(const std::string& codec) {
  if (codec == "h264") return pipelines::MediaCodec::h264;
  if (codec == "h265") return pipelines::MediaCodec::h265;
  if (codec == "av1") return pipelines::MediaCodec::av1;
  if (codec == "vp9") return pipelines::MediaCodec::vp9;
  if (codec == "opus") return pipelines::MediaCodec::opus;
  return pipelines::MediaCodec::aac;
}

Bytes ex_video(unsigned frame_type, unsigned packet_type, const char* cc) {
  return {uint8_t(0x80 | (frame_type << 4) | packet_type), uint8_t(cc[0]), uint8_t(cc[1]), uint8_t(cc[2]),
          uint8_t(cc[3])};
}

Bytes video_sequence(const Track& t, bool legacy) {
  return pipelines::flv_video_config_body(codec_of(t.codec), t.config.data(), t.config.size(), legacy);
}

Bytes video_frame(const Track& t, const Sample& s, bool legacy) {
  return pipelines::flv_video_frame_body(codec_of(t.codec), s.key, int32_t(s.cts_ms), s.data.data(), s.data.size(),
                                         legacy);
}

Bytes audio_sequence(const Track& t) {
  return pipelines::flv_audio_config_body(codec_of(t.codec), t.config.data(), t.config.size());
}
Bytes audio_frame(const Track& t, const Sample& s) {
  return pipelines::flv_audio_frame_body(codec_of(t.codec), s.data.data(), s.data.size());
}

Bytes hostile_message(const std::string& kind) {
  if (kind == "unknown-fourcc") return cat(ex_video(1, 0, "zzz9"), {1, 2, 3, 4});
  if (kind == "truncated-seq") return cat(ex_video(1, 0, "hvc1"), {1, 1, 0x60, 0, 0});
  if (kind == "absurd-hvcc") {
    Bytes h(23, 0);
    h[0] = 1;
    h[21] = 3;
    h[22] = 1;
    return cat(ex_video(1, 0, "hvc1"), cat(h, {0x20, 0xff, 0xff, 0, 4, 0x40, 1, 0x0c, 1}));
  }
  return {};
}

// Handshake, then connect (announcing the E-RTMP FourCCs), sent; out is left holding those bytes.
bool start_session(Client& c, const Url& u, Bytes& out) {
  // Handshake: C0 C1, S0 S1 S2, C2 = S1.
  Bytes c01(1 + kHandshakeSize, 0);
  c01[0] = 3;
  for (size_t i = 9; i < c01.size(); i++) c01[i] = uint8_t(i * 7 + 3);
  Bytes s012(1 + 2 * kHandshakeSize);
  if (!c.send(c01) || !c.read_exact(s012.data(), s012.size())) return false;
  out.assign(s012.begin() + 1, s012.begin() + 1 + long(kHandshakeSize));
  write_control(out, kSetChunkSize, kChunk);
  AmfWriter w;
  w.string("connect").number(1).begin_object();
  w.key("app").string(u.app);
  w.key("type").string("nonprivate");
  w.key("flashVer").string("FMLE/3.0 (compatible; estuary-ertmp-publish)");
  w.key("tcUrl").string(u.tc_url);
  w.key("fourCcList");
  Bytes& wb = w.bytes();
  const char* ccs[] = {"hvc1", "av01", "vp09", "avc1", "Opus"};
  wb.insert(wb.end(), {0x0a, 0, 0, 0, 5});
  for (const char* cc : ccs) w.string(cc);
  w.end_object();
  command(out, kCsidCommand, 0, w);
  return c.send(out);
}

// Plays u for seconds and writes what arrives as an FLV file (the E-RTMP play of the server, for
// tests that read it back with our parser). Exit status 0 when video arrived, 3 otherwise.
int play(const Url& u, int seconds, const std::string& path) {
  Client c(true);
  Bytes out;
  if (!c.connect(u) || !start_session(c, u, out)) return 3;
  out.clear();
  Bytes flv = pipelines::make_flv_file_header(true, true);
  uint32_t sid = 1;
  size_t videos = 0;
  auto on_msg = [&](const RtmpMessage& m) {
    if ((m.info.type == kAudio || m.info.type == kVideo) && m.payload) {
      pipelines::append_flv_tag(flv, m.info.type, m.info.ts, m.payload->data(), m.payload->size());
      videos += m.info.type == kVideo;
      return;
    }
    if (m.info.type != kCommandAmf0 || !m.payload) return;
    auto v = amf_decode_all(m.payload->data(), m.payload->size());
    if (v.size() < 2 || v[0].type != Amf::Type::string || v[0].str != "_result") return;
    if (v[1].num == 1) {
      AmfWriter b;
      b.string("createStream").number(3).null();
      command(out, kCsidCommand, 0, b);
    } else if (v[1].num == 3) {
      sid = v.size() > 3 && v[3].type == Amf::Type::number ? uint32_t(v[3].num) : 1;
      AmfWriter p;
      p.string("play").number(4).null().string(u.stream);
      command(out, kCsidStream, sid, p);
    }
  };
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (!c.pump(100, on_msg)) break;
    if (!out.empty() && !c.send(out)) break;
    out.clear();
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(flv.data(), 1, flv.size(), f) != flv.size()) return 1;
  std::fclose(f);
  std::fprintf(stderr, "ertmp-publish: played %zu video messages into %s\n", videos, path.c_str());
  return videos > 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  bool legacy = false;
  int loops = 1, play_s = 0;
  std::string hostile, file, url, capture;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--legacy")
      legacy = true;
    else if (a.rfind("--hostile=", 0) == 0)
      hostile = a.substr(10);
    else if (a.rfind("--loop=", 0) == 0)
      loops = std::max(1, std::atoi(a.c_str() + 7));
    else if (a.rfind("--capture=", 0) == 0)
      capture = a.substr(10);
    else if (a.rfind("--play=", 0) == 0)
      play_s = std::max(1, std::atoi(a.c_str() + 7));
    else if (file.empty())
      file = a;
    else
      url = a;
  }
  Url u;
  if (file.empty() || !parse_url(url, &u) || (!hostile.empty() && hostile_message(hostile).empty())) {
    std::fprintf(stderr,
                 "usage: estuary-ertmp-publish [--legacy] [--loop=N] [--capture=OUT.bin] "
                 "[--hostile=unknown-fourcc|truncated-seq|absurd-hvcc] FILE rtmp://host:port/app/stream\n"
                 "       estuary-ertmp-publish --play=SECONDS OUT.flv rtmp://host:port/app/stream\n");
    return 1;
  }
  if (play_s > 0) return play(u, play_s, file);
  Media media;
  if (!read_file(file, media)) {
    std::fprintf(stderr, "ertmp-publish: no media read from %s\n", file.c_str());
    return 1;
  }
  std::fprintf(stderr, "ertmp-publish: %zu samples, video=%s audio=%s\n", media.samples.size(),
               media.video.codec.c_str(), media.audio.codec.c_str());
  Client c;
  if (!capture.empty() && !c.capture_to(capture)) {
    std::fprintf(stderr, "ertmp-publish: cannot write %s\n", capture.c_str());
    return 1;
  }
  if (!c.connect(u)) {
    std::fprintf(stderr, "ertmp-publish: cannot connect to %s:%s\n", u.host.c_str(), u.port.c_str());
    return 1;
  }
  Bytes out;
  if (!start_session(c, u, out)) return 3;
  out.clear();
  // Drive the command exchange until NetStream.Publish.Start (or a refusal).
  bool publishing = false, refused = false;
  uint32_t sid = 1;
  auto on_msg = [&](const RtmpMessage& m) {
    if (m.info.type != kCommandAmf0 || !m.payload) return;
    auto v = amf_decode_all(m.payload->data(), m.payload->size());
    if (v.empty() || v[0].type != Amf::Type::string) return;
    const double txn = v.size() > 1 ? v[1].num : 0;
    if (v[0].str == "_result" && txn == 1) {
      AmfWriter a, b;
      a.string("FCPublish").number(2).null().string(u.stream);
      b.string("createStream").number(3).null();
      command(out, kCsidCommand, 0, a);
      command(out, kCsidCommand, 0, b);
    } else if (v[0].str == "_result" && txn == 3) {
      sid = v.size() > 3 && v[3].type == Amf::Type::number ? uint32_t(v[3].num) : 1;
      AmfWriter p;
      p.string("publish").number(4).null().string(u.stream).string("live");
      command(out, kCsidStream, sid, p);
    } else if (v[0].str == "onStatus" && v.size() > 3) {
      const std::string code = v[3].get_string("code");
      if (code == "NetStream.Publish.Start")
        publishing = true;
      else if (v[3].get_string("level") == "error")
        refused = true;
    } else if (v[0].str == "_error") {
      refused = true;
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!publishing && !refused && std::chrono::steady_clock::now() < deadline) {
    if (!c.pump(100, on_msg)) break;
    if (!out.empty() && !c.send(out)) break;
    out.clear();
  }
  if (!publishing) {
    std::fprintf(stderr, "ertmp-publish: publish %s\n", refused ? "refused" : "failed (closed or timed out)");
    return 3;
  }
  std::fprintf(stderr, "ertmp-publish: publishing %s/%s%s\n", u.app.c_str(), u.stream.c_str(),
               legacy ? " (legacy codec ids)" : "");
  auto send_media = [&](uint8_t type, uint32_t ts, const Bytes& body) {
    write_chunked(out, type == kVideo ? kCsidVideo : kCsidAudio, type, ts, sid, body.data(), body.size(), kChunk);
  };
  if (!hostile.empty()) send_media(kVideo, 0, hostile_message(hostile));
  if (!media.video.codec.empty()) send_media(kVideo, 0, video_sequence(media.video, legacy));
  if (!media.audio.codec.empty()) send_media(kAudio, 0, audio_sequence(media.audio));
  const auto start = std::chrono::steady_clock::now();
  const int64_t first = media.samples.front().dts_ms;
  const int64_t span = media.samples.back().dts_ms - first + 40;
  for (int loop = 0; loop < loops && !c.closed(); loop++) {
    for (const Sample& s : media.samples) {
      const int64_t ts = s.dts_ms - first + loop * span;
      std::this_thread::sleep_until(start + std::chrono::milliseconds(ts));
      if (s.video)
        send_media(kVideo, uint32_t(ts), video_frame(media.video, s, legacy));
      else
        send_media(kAudio, uint32_t(ts), audio_frame(media.audio, s));
      if (!c.send(out) || !c.pump(0, on_msg)) break;
      out.clear();
    }
  }
  if (c.closed()) {
    std::fprintf(stderr, "ertmp-publish: the server closed the connection\n");
    return 3;
  }
  AmfWriter d;
  d.string("deleteStream").number(5).null().number(sid);
  command(out, kCsidCommand, 0, d);
  c.send(out);
  c.pump(200, on_msg);
  std::fprintf(stderr, "ertmp-publish: done\n");
  return 0;
}
