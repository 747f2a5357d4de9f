// Owns: estuary-rtc, the WebRTC measuring tool.
//   estuary-rtc viewers --whep URL --count N --seconds S [--ramp-ms MS]
//       N WHEP viewers (depayload only); prints how many connected and the kb/s each received.
//   estuary-rtc latency --rtmp rtmp://HOST:PORT/APP/STREAM --whep URL --seconds S [--kbps K]
//       publishes a test pattern over RTMP (x264 → flvmux → rtmp2sink sync=false) and watches it over
//       WHEP in the same process (one clock): each H.264 access unit is matched by its last 32 bytes,
//       and the time from its FLV tag reaching the RTMP sink to receiving it depayloaded is its latency.
//   estuary-rtc publish --rtmp URL --seconds S [--kbps K]: the publisher alone (for viewers runs).
//   estuary-rtc load --whep URL --count N --seconds S [--ramp-ms MS] [--loss FRACTION]
//       [--end delete|vanish|silent] (sessions end by DELETE, vanish after playing, or never connect)
//       [--transport udp|tcp] (tcp: ICE-TCP to the answer's passive TCP candidate, RFC 4571 framing)
//       [--video h264|h265] (h265: offer H265 only, for an HEVC stream)
//       [--threads T] (client threads; default one per 250 sessions, at most 4) [--ipv6 1] (IPv6 candidate)
//       [--max-pending P] (at most P sessions handshaking at a time: the next offer waits; 0 = no bound)
//       [--decrypt all|sampled] (sampled: SRTP-decrypt only the packets looked into; the rest by RTP header)
//       [--rtmp URL [--file FLV]] (publish the stream first, the FLV file's H.264 + AAC in real time or the test
//       pattern, and measure delivery latency of each access unit on up to 100 sessions: p50/p95)
//       N WHEP sessions from a few client threads with the client's own ICE/DTLS/SRTP (no webrtcbin): checks
//       each gets a keyframe first and gap-free RTP; exit 0 only if all did. --loss drops that share
//       of the incoming RTP and repairs it with NACK.
// Results are printed as one line of key=value pairs.
#include <gst/gst.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "load_client.h"
#include "rtc_client.h"

using namespace estuary::rtcclient;

namespace {

struct Args {
  std::string mode, whep, rtmp, file;
  int threads = 0;
  int max_pending = 0;
  bool ipv6 = false, decrypt_all = true;
  int count = 1, seconds = 10, ramp_ms = 50, kbps = 2000;
  double loss = 0;
  std::string end = "delete";  // load: how sessions end (delete, vanish, silent)
  bool tcp = false;            // load: ICE-TCP instead of UDP
  bool h265 = false;           // load: offer H265 video instead of H264
};

bool parse(int argc, char** argv, Args* a) {
  if (argc < 2) return false;
  a->mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--whep")
      a->whep = v;
    else if (k == "--rtmp")
      a->rtmp = v;
    else if (k == "--count")
      a->count = std::stoi(v);
    else if (k == "--seconds")
      a->seconds = std::stoi(v);
    else if (k == "--ramp-ms")
      a->ramp_ms = std::stoi(v);
    else if (k == "--kbps")
      a->kbps = std::stoi(v);
    else if (k == "--loss")
      a->loss = std::stod(v);
    else if (k == "--end" && (v == "delete" || v == "vanish" || v == "silent"))
      a->end = v;
    else if (k == "--transport" && (v == "udp" || v == "tcp"))
      a->tcp = v == "tcp";
    else if (k == "--file")
      a->file = v;
    else if (k == "--threads")
      a->threads = std::stoi(v);
    else if (k == "--max-pending")
      a->max_pending = std::stoi(v);
    else if (k == "--ipv6")
      a->ipv6 = v == "1";
    else if (k == "--decrypt" && (v == "all" || v == "sampled"))
      a->decrypt_all = v == "all";
    else if (k == "--video" && (v == "h264" || v == "h265"))
      a->h265 = v == "h265";
    else
      return false;
  }
  return true;
}

std::string key_of(const uint8_t* tail, size_t n) { return std::string(reinterpret_cast<const char*>(tail), n); }

// RTMP publisher of a 720p30 test pattern at ~kbps with 1 s GOP, or of an FLV file's H.264 + AAC paced in real time
// (no encoder in this process); records when each access unit was handed to the sink, by its last 32 bytes.
class RtmpPublisher {
 public:
  RtmpPublisher(const std::string& url, int kbps, const std::string& file = "") {
    std::string launch =
        !file.empty()
            ? "filesrc location=\"" + file +
                  "\" ! flvdemux name=d d.video ! queue ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! "
                  "identity name=stamp sync=true ! queue ! mux.video d.audio ! queue ! aacparse ! identity sync=true ! "
                  "queue ! mux.audio flvmux name=mux streamable=true ! rtmp2sink name=out sync=false location=\"" +
                  url + "\""
            : "videotestsrc is-live=true pattern=smpte ! video/x-raw,width=1280,height=720,framerate=30/1 ! "
              "videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=" +
                  std::to_string(kbps) +
                  " ! video/x-h264,profile=constrained-baseline ! h264parse ! video/x-h264,stream-format=avc ! "
                  "identity "
                  "name=stamp ! queue ! mux.video audiotestsrc is-live=true ! audioconvert ! avenc_aac ! aacparse ! "
                  "queue ! "
                  "mux.audio flvmux name=mux streamable=true ! rtmp2sink name=out sync=false location=\"" +
                  url + "\"";
    GError* err = nullptr;
    pipeline_ = gst_parse_launch_full(launch.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
    if (err) {
      std::fprintf(stderr, "publisher: %s\n", err->message);
      g_clear_error(&err);
      return;
    }
    GstElement* stamp = gst_bin_get_by_name(GST_BIN(pipeline_), "stamp");
    GstPad* pad = gst_element_get_static_pad(stamp, "src");
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer self) -> GstPadProbeReturn {
          auto* p = static_cast<RtmpPublisher*>(self);
          GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
          gsize n = gst_buffer_get_size(b);
          if (n >= 32) {
            uint8_t tail[32];
            gst_buffer_extract(b, n - 32, tail, 32);
            std::lock_guard<std::mutex> lock(p->mutex_);
            p->sent_[key_of(tail, 32)] = g_get_monotonic_time();
          }
          return GST_PAD_PROBE_OK;
        },
        this, nullptr);
    gst_object_unref(pad);
    gst_object_unref(stamp);
    // The send time is when the FLV tag reaches the RTMP sink (after flvmux interleaving): a video
    // tag ends with the access unit, then the 4-byte previous-tag-size.
    GstElement* out = gst_bin_get_by_name(GST_BIN(pipeline_), "out");
    pad = gst_element_get_static_pad(out, "sink");
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer self) -> GstPadProbeReturn {
          auto* p = static_cast<RtmpPublisher*>(self);
          GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
          gsize n = gst_buffer_get_size(b);
          if (n >= 36) {
            uint8_t tail[32];
            gst_buffer_extract(b, n - 36, tail, 32);
            std::lock_guard<std::mutex> lock(p->mutex_);
            auto it = p->sent_.find(key_of(tail, 32));
            if (it != p->sent_.end()) {
              it->second = g_get_monotonic_time();
              ++p->tagged_;
            }
          }
          return GST_PAD_PROBE_OK;
        },
        this, nullptr);
    gst_object_unref(pad);
    gst_object_unref(out);
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  }
  ~RtmpPublisher() {
    if (!pipeline_) return;
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(pipeline_);
  }
  int64_t sent_at(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sent_.find(key);
    return it == sent_.end() ? -1 : it->second;
  }
  bool ok() const { return pipeline_ != nullptr; }
  uint64_t tagged() const { return tagged_; }

 private:
  GstElement* pipeline_ = nullptr;
  std::mutex mutex_;
  std::unordered_map<std::string, int64_t> sent_;
  std::atomic<uint64_t> tagged_{0};  // access units seen at the RTMP sink
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

int run_viewers(const Args& a) {
  std::vector<std::unique_ptr<WhepViewer>> viewers;
  int created = 0;
  for (int i = 0; i < a.count; ++i) {
    ViewerOptions vo;
    vo.decode = false;
    vo.audio = true;
    auto v = std::make_unique<WhepViewer>(vo);
    if (v->negotiate(a.whep) == 201)
      ++created;
    else
      std::fprintf(stderr, "viewer %d: %s\n", i, v->error().c_str());
    viewers.push_back(std::move(v));
    std::this_thread::sleep_for(std::chrono::milliseconds(a.ramp_ms));
  }
  int connected = 0;
  for (auto& v : viewers) connected += v->wait_connected(5000) ? 1 : 0;
  std::vector<uint64_t> start;
  for (auto& v : viewers) start.push_back(v->video_bytes());
  std::printf("ready viewers=%d connected=%d\n", created, connected);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(a.seconds));
  double min_kbps = 1e18, sum = 0;
  int receiving = 0;
  for (size_t i = 0; i < viewers.size(); ++i) {
    double kbps = double(viewers[i]->video_bytes() - start[i]) * 8 / 1000 / a.seconds;
    min_kbps = std::min(min_kbps, kbps);
    sum += kbps;
    receiving += kbps > 0 ? 1 : 0;
  }
  std::printf("viewers=%d connected=%d receiving=%d video_kbps_min=%.0f video_kbps_mean=%.0f\n", created, connected,
              receiving, viewers.empty() ? 0 : min_kbps, viewers.empty() ? 0 : sum / double(viewers.size()));
  for (auto& v : viewers) v->close(true);
  return connected == a.count ? 0 : 1;
}

int run_latency(const Args& a) {
  RtmpPublisher pub(a.rtmp, a.kbps);
  if (!pub.ok()) return 2;
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the stream goes live
  std::mutex mutex;
  std::vector<double> samples;
  int unmatched = 0;
  ViewerOptions vo;
  vo.decode = false;
  vo.latency_ms = 0;
  vo.on_access_unit = [&](const uint8_t* tail, size_t n, int64_t t, bool) {
    int64_t sent = pub.sent_at(key_of(tail, n));
    std::lock_guard<std::mutex> lock(mutex);
    if (sent < 0)
      ++unmatched;
    else
      samples.push_back(double(t - sent) / 1000.0);
  };
  WhepViewer viewer(vo);
  if (viewer.negotiate(a.whep) != 201) {
    std::fprintf(stderr, "whep: %s\n", viewer.error().c_str());
    return 1;
  }
  viewer.wait_connected(5000);
  std::this_thread::sleep_for(std::chrono::seconds(a.seconds));
  viewer.close(true);
  std::lock_guard<std::mutex> lock(mutex);
  std::printf("latency_ms_p50=%.1f latency_ms_p95=%.1f samples=%zu unmatched=%d tagged=%llu\n",
              percentile(samples, 0.5), percentile(samples, 0.95), samples.size(), unmatched,
              static_cast<unsigned long long>(pub.tagged()));
  return samples.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Args a;
  if (!parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "usage: estuary-rtc viewers --whep URL --count N --seconds S [--ramp-ms MS]\n"
                 "       estuary-rtc latency --rtmp URL --whep URL --seconds S [--kbps K]\n"
                 "       estuary-rtc publish --rtmp URL --seconds S [--kbps K]\n"
                 "       estuary-rtc load --whep URL --count N --seconds S [--ramp-ms MS] [--loss FRACTION]\n"
                 "                        [--end delete|vanish|silent] [--transport udp|tcp] [--video h264|h265]\n"
                 "                        [--threads T] [--ipv6 1] [--decrypt all|sampled] [--max-pending P]\n"
                 "                        [--rtmp URL [--file FLV]]\n");
    return 2;
  }
  if (a.mode == "viewers") return run_viewers(a);
  if (a.mode == "load") {
    LoadOptions lo;
    lo.whep = a.whep;
    lo.count = a.count;
    lo.seconds = a.seconds;
    lo.ramp_ms = a.ramp_ms == 50 ? 0 : a.ramp_ms;
    lo.loss = a.loss;
    lo.vanish = a.end == "vanish";
    lo.silent = a.end == "silent";
    lo.tcp = a.tcp;
    lo.h265 = a.h265;
    lo.threads = a.threads;
    lo.max_pending = a.max_pending;
    lo.ipv6 = a.ipv6;
    lo.decrypt_all = a.decrypt_all;
    std::unique_ptr<RtmpPublisher> pub;
    if (!a.rtmp.empty()) {
      pub = std::make_unique<RtmpPublisher>(a.rtmp, a.kbps, a.file);
      if (!pub->ok()) return 2;
      lo.sent_at = [p = pub.get()](const uint8_t* tail, size_t n) { return p->sent_at(key_of(tail, n)); };
      lo.first_post_wait_ms = 15000;  // the stream goes live
    }
    LoadResult r = run_load(lo);
    std::printf("%s\n", describe(r).c_str());
    const int ended = a.end == "delete" ? r.deleted : r.sessions;
    const bool ok = lo.silent ? r.answered == r.sessions
                              : r.sessions > 0 && r.connected == r.sessions && r.keyframe_first == r.sessions &&
                                    r.gap_free == r.sessions && ended == r.sessions;
    return ok ? 0 : 1;
  }
  if (a.mode == "latency") return run_latency(a);
  if (a.mode == "publish") {
    RtmpPublisher pub(a.rtmp, a.kbps);
    std::this_thread::sleep_for(std::chrono::seconds(a.seconds));
    return pub.ok() ? 0 : 1;
  }
  return 2;
}
