// Owns: a small WHIP/WHEP client on GStreamer's webrtcbin, for the end-to-end tests and the
// estuary-rtc measuring tool: a publisher (test pattern H.264 + Opus) and a viewer (H.264 + Opus,
// optionally decoded) that negotiate non-trickle over HTTP (POST offer, 201 answer, DELETE on close)
// and count what they receive. Blocking API for a test thread; gathering is restricted to one local
// address so nothing leaves the host. The caller must have called gst_init.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace estuary::rtcclient {

struct HttpResult {
  int status = 0;  // 0: no answer
  std::string body;
  std::string location;  // absolute URL of the session (resolved against the endpoint)
  std::string content_type;
};

// POSTs body to url with the given content type (blocking, 10 s timeout).
HttpResult http_post(const std::string& url, const std::string& body, const std::string& content_type,
                     const std::string& bearer = "");
// Sends method (DELETE, PATCH, OPTIONS) to url; returns the status (0 on failure).
int http_send(const std::string& method, const std::string& url, const std::string& body = "",
              const std::string& content_type = "");

struct PeerOptions {
  std::string local_ip = "127.0.0.1";  // gather candidates on this address only ("" = all)
  int timeout_ms = 10000;              // for negotiation and connection
  int latency_ms = 50;                 // receiver jitterbuffer
};

class Peer {
 public:
  virtual ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // Makes the offer, POSTs it to endpoint, applies the answer. Returns the HTTP status (201 on
  // success; 0 if no offer could be made). last_http() has the reply.
  int negotiate(const std::string& endpoint, const std::string& bearer = "");
  bool wait_connected(int timeout_ms);
  bool connected() const { return connected_.load(); }
  // Sends DELETE to the session (when asked) and stops the pipeline. Idempotent.
  void close(bool send_delete = true);
  const HttpResult& last_http() const { return http_; }
  const std::string& offer() const { return offer_; }
  const std::string& error() const { return error_; }

 protected:
  Peer(PeerOptions options);
  bool build(const std::string& launch);  // launch must contain "webrtcbin name=rtc"
  virtual void prepare() {}               // before PLAYING (WHEP adds its transceivers)
  virtual void on_pad(GstPad*) {}         // webrtcbin src pad (streaming thread)
  GstElement* pipeline_ = nullptr;
  GstElement* webrtc_ = nullptr;
  PeerOptions options_;
  std::string error_;

 private:
  static void on_negotiation_needed(GstElement*, gpointer self);
  static void on_notify(GObject*, GParamSpec*, gpointer self);
  static void on_pad_added(GstElement*, GstPad* pad, gpointer self);
  bool wait_for(const std::function<bool()>& done, int timeout_ms);
  std::mutex mutex_;
  std::condition_variable cond_;
  bool negotiation_needed_ = false;
  std::atomic<bool> connected_{false};
  std::string offer_;
  HttpResult http_;
  bool closed_ = false;
};

struct PublisherOptions : PeerOptions {
  int width = 320, height = 240, fps = 25;
  int bitrate_kbps = 400;
  int key_int = 1000;  // frames between forced keyframes (large: keyframes come from the server's PLI)
  bool audio = true;
  bool video = true;
  double loss = 0;  // share of video RTP packets dropped after the payloader (the server sees gaps)
};

class WhipPublisher : public Peer {
 public:
  explicit WhipPublisher(PublisherOptions options);
  // Keyframes the encoder produced (each PLI/FIR from the server forces one).
  uint64_t keyframes() const { return keyframes_->load(); }

 private:
  std::shared_ptr<std::atomic<uint64_t>> keyframes_ = std::make_shared<std::atomic<uint64_t>>(0);
};

struct ViewerOptions : PeerOptions {
  bool video = true;
  bool audio = true;
  bool decode = true;  // decode video (counts decoded frames); false: depayload only (cheap)
  int video_pt = 102;
  std::string profile_level_id = "42e01f";
  bool level_asymmetry = true;
  // Called for every received H.264 access unit (streaming thread): its last bytes and arrival time.
  std::function<void(const uint8_t* tail, size_t n, int64_t mono_us, bool keyframe)> on_access_unit;
};

class WhepViewer : public Peer {
 public:
  explicit WhepViewer(ViewerOptions options);
  uint64_t video_units() const { return stats_->video_units.load(); }    // depayloaded access units
  uint64_t video_frames() const { return stats_->video_frames.load(); }  // decoded frames
  uint64_t audio_buffers() const { return stats_->audio_buffers.load(); }
  uint64_t video_bytes() const { return stats_->video_bytes.load(); }
  // Whether the first access unit received was a keyframe (-1: none yet).
  int first_unit_keyframe() const { return stats_->first_key.load(); }
  int64_t first_unit_us() const { return stats_->first_unit_us.load(); }

 private:
  struct Stats {
    std::atomic<uint64_t> video_units{0}, video_frames{0}, audio_buffers{0}, video_bytes{0};
    std::atomic<int> first_key{-1};
    std::atomic<int64_t> first_unit_us{0};
    std::function<void(const uint8_t*, size_t, int64_t, bool)> on_access_unit;
  };
  void prepare() override;
  void on_pad(GstPad* pad) override;
  ViewerOptions vopts_;
  std::shared_ptr<Stats> stats_ = std::make_shared<Stats>();
};

}  // namespace estuary::rtcclient
