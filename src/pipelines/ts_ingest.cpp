// Owns: TsIngest and TsTrackProbe (see ts_ingest.h).
#include "pipelines/ts_ingest.h"

#include <gst/app/gstappsrc.h>

#include "common/log.h"
#include "pipelines/ts_packets.h"

namespace estuary::pipelines {
namespace {

constexpr size_t kPacket = 188;

// PSI section starting in this packet (single-packet sections: a PAT or PMT of one program).
const uint8_t* section_of(const uint8_t* pkt, size_t* len) {
  if (!(pkt[1] & 0x40)) return nullptr;  // payload_unit_start
  const uint8_t afc = (pkt[3] >> 4) & 0x3;
  size_t off = 4;
  if (afc == 0 || afc == 2) return nullptr;
  if (afc == 3) off += 1 + pkt[4];
  if (off + 1 >= kPacket) return nullptr;
  off += 1 + pkt[off];  // pointer field
  if (off + 3 > kPacket) return nullptr;
  const uint8_t* s = pkt + off;
  const size_t section_length = ((s[1] & 0x0f) << 8) | s[2];
  if (off + 3 + section_length > kPacket) return nullptr;
  *len = 3 + section_length;
  return s;
}

// Links a new tsdemux pad through the parser its caps need into the matching bus sink pad; pads of
// tracks that are not published go to a fakesink (an unlinked pad would stop the demuxer).
// Runs on the demuxer's streaming thread; touches only elements of this pipeline.
void on_demux_pad_added(GstElement*, GstPad* pad, gpointer bin_ptr) {
  GstBin* bin = GST_BIN(bin_ptr);
  Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_pad_get_current_caps(pad));
  if (!caps) caps = Ref<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
  const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
  const char* media = gst_structure_get_name(s);
  const char* parser_name = nullptr;
  bool video = false;
  if (g_str_equal(media, "video/x-h264")) {
    parser_name = "h264parse";
    video = true;
  } else if (g_str_equal(media, "video/x-h265")) {
    parser_name = "h265parse";
    video = true;
  } else if (g_str_equal(media, "audio/mpeg")) {
    int version = 0;
    gst_structure_get_int(s, "mpegversion", &version);
    parser_name = version == 1 ? "mpegaudioparse" : "aacparse";
  } else if (g_str_equal(media, "audio/x-opus")) {
    parser_name = "opusparse";
  }
  Ref<GstPad> target;
  if (parser_name) {
    Ref<GstElement> sink = Ref<GstElement>::adopt(gst_bin_get_by_name(bin, "bus"));
    target = Ref<GstPad>::adopt(gst_element_get_static_pad(sink.get(), video ? "sink_0" : "sink_1"));
  }
  GstElement* next = nullptr;
  if (target && !gst_pad_is_linked(target.get())) {
    next = gst_element_factory_make(parser_name, nullptr);
  } else {
    next = gst_element_factory_make("fakesink", nullptr);  // a track we do not publish, or a second one
    if (next) g_object_set(next, "sync", FALSE, "async", FALSE, nullptr);
    target.reset();
  }
  if (!next) return;
  gst_bin_add(bin, next);
  Ref<GstPad> nsink = Ref<GstPad>::adopt(gst_element_get_static_pad(next, "sink"));
  if (target) {
    Ref<GstPad> nsrc = Ref<GstPad>::adopt(gst_element_get_static_pad(next, "src"));
    gst_pad_link(nsrc.get(), target.get());
  }
  gst_element_sync_state_with_parent(next);
  gst_pad_link(pad, nsink.get());
}

}  // namespace

bool TsTrackProbe::feed(const uint8_t* data, size_t size) {
  if (done_) return true;
  std::vector<uint8_t> buf;
  if (!partial_.empty()) {
    buf.swap(partial_);
    buf.insert(buf.end(), data, data + size);
    data = buf.data();
    size = buf.size();
  }
  size_t off = 0;
  while (off + kPacket <= size && !done_) {
    const uint8_t* pkt = data + off;
    if (pkt[0] != 0x47) {  // lost sync: look for the next sync byte
      ++off;
      continue;
    }
    const int pid = ((pkt[1] & 0x1f) << 8) | pkt[2];
    if (pid == 0 || pid == pmt_pid_) {
      size_t len = 0;
      if (const uint8_t* s = section_of(pkt, &len)) on_section(pid, s, len);
    }
    off += kPacket;
  }
  if (!done_ && off < size) partial_.assign(data + off, data + size);
  return done_;
}

void TsTrackProbe::on_section(int pid, const uint8_t* s, size_t len) {
  if (len < 12) return;
  if (pid == 0) {
    if (s[0] != 0x00) return;
    for (size_t i = 8; i + 4 <= len - 4; i += 4) {
      const int program = (s[i] << 8) | s[i + 1];
      if (program == 0) continue;  // network PID
      pmt_pid_ = ((s[i + 2] & 0x1f) << 8) | s[i + 3];
      return;
    }
    return;
  }
  if (s[0] != 0x02 || len < 16) return;
  const size_t program_info_length = ((s[10] & 0x0f) << 8) | s[11];
  for (size_t i = 12 + program_info_length; i + 5 <= len - 4;) {
    const uint8_t type = s[i];
    const size_t es_info = ((s[i + 3] & 0x0f) << 8) | s[i + 4];
    if (i + 5 + es_info > len - 4) break;
    std::string video, audio;
    if (type == 0x1b) video = "h264";
    if (type == 0x24) video = "h265";
    if (type == 0x0f || type == 0x11) audio = "aac";
    if (type == 0x03 || type == 0x04) audio = "mp3";
    if (type == 0x06 && ts_has_opus_registration(s + i + 5, es_info)) audio = "opus";
    if (!video.empty() && video_.empty())
      video_ = video;
    else if (!audio.empty() && audio_.empty())
      audio_ = audio;
    else
      ignored_.push_back(type);
    i += 5 + es_info;
  }
  done_ = true;
  partial_.clear();
}

TsIngest::TsIngest(std::string stream_name, TsIngestSettings settings)
    : stream_name_(std::move(stream_name)), settings_(settings) {}

TsIngest::~TsIngest() { stop(); }

Status TsIngest::push(const uint8_t* data, size_t size) {
  if (stopped_ || size == 0) return ok_status();
  if (pipeline_) {
    push_bytes(data, size);
    return ok_status();
  }
  pending_.insert(pending_.end(), data, data + size);
  if (!probe_.feed(data, size)) {
    if (pending_.size() > settings_.max_pending_bytes)
      return Error{"no PAT/PMT in the first " + std::to_string(pending_.size()) + " bytes (is it MPEG-TS?)"};
    return ok_status();
  }
  if (probe_.video().empty() && probe_.audio().empty())
    return Error{"the program has no supported track (H.264, H.265, AAC, MP3 or Opus)"};
  Status started = start_pipeline();
  if (!started) return started;
  std::vector<uint8_t> pending;
  pending.swap(pending_);
  push_bytes(pending.data(), pending.size());
  return ok_status();
}

Status TsIngest::start_pipeline() {
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* src = gst_element_factory_make("appsrc", "src");
  GstElement* demux = gst_element_factory_make("tsdemux", "demux");
  GstElement* sink = gst_element_factory_make("estuarysink", "bus");
  if (!pipeline || !src || !demux || !sink) {
    for (GstElement* e : {pipeline, src, demux, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return Error{"ingest " + stream_name_ + ": missing GStreamer element (appsrc, tsdemux or estuarysink)"};
  }
  Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_caps_new_simple("video/mpegts", "systemstream", G_TYPE_BOOLEAN, TRUE,
                                                              "packetsize", G_TYPE_INT, 188, nullptr));
  // Bytes with no timestamps: tsdemux times the stream from its PCR/PTS. The bound is enforced in
  // push_bytes (we count what is dropped).
  g_object_set(src, "caps", caps.get(), "format", GST_FORMAT_BYTES, "is-live", TRUE, "max-bytes",
               static_cast<guint64>(settings_.max_pending_bytes), nullptr);
  g_object_set(sink, "stream", stream_name_.c_str(), "gop-cache-max-bytes", settings_.gop_cache_max_bytes, nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, demux, sink, nullptr);
  gst_element_link(src, demux);
  // Announce exactly the tracks the PMT listed, so the bus declares the stream ready with all of them.
  const bool video = !probe_.video().empty(), audio = !probe_.audio().empty();
  if (video) gst_object_unref(gst_element_request_pad_simple(sink, "sink_0"));
  if (audio) gst_object_unref(gst_element_request_pad_simple(sink, "sink_1"));
  g_signal_connect_object(demux, "pad-added", G_CALLBACK(on_demux_pad_added), pipeline, GConnectFlags(0));
  appsrc_ = Ref<GstElement>::add_ref(src);
  pipeline_ = ManagedPipeline::adopt("ingest:" + stream_name_, pipeline);
  pipeline_->set_events(events_);
  Status st = pipeline_->start();
  if (!st) {
    pipeline_.reset();
    appsrc_.reset();
    return st;
  }
  std::string ignored;
  for (int t : probe_.ignored())
    ignored += (ignored.empty() ? " ignored stream types:" : "") + std::string(" 0x") +
               "0123456789abcdef"[(t >> 4) & 0xf] + "0123456789abcdef"[t & 0xf];
  log_info(stream_name_, "", "ingest-start",
           "ingest pipeline started (mpeg-ts) video=" + (video ? probe_.video() : std::string("no")) +
               " audio=" + (audio ? probe_.audio() : std::string("no")) + ignored);
  return ok_status();
}

void TsIngest::push_bytes(const uint8_t* data, size_t size) {
  if (!appsrc_) return;
  guint64 level = 0;
  g_object_get(appsrc_.get(), "current-level-bytes", &level, nullptr);
  if (level + size > settings_.max_pending_bytes) {  // the pipeline is not keeping up: drop, never block
    dropped_bytes_ += size;
    return;
  }
  gst_app_src_push_buffer(GST_APP_SRC(appsrc_.get()), gst_buffer_new_memdup(data, size));
}

void TsIngest::stop() {
  stopped_ = true;
  if (pipeline_) pipeline_->stop();
  pipeline_.reset();
  appsrc_.reset();
  pending_.clear();
}

}  // namespace estuary::pipelines
