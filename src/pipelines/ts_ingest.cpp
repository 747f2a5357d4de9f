// Owns: TsIngest and TsTrackProbe (see ts_ingest.h).
#include "pipelines/ts_ingest.h"

#include <gst/app/gstappsrc.h>

#include "common/log.h"
#include "pipelines/demux_ingest.h"
#include "pipelines/ts_packets.h"

namespace estuary::pipelines {
namespace {

constexpr size_t kPacket = 188;

// The code of an ISO 639 language descriptor (tag 0x0a) among an ES's descriptors; "" when none.
std::string language_of(const uint8_t* d, size_t len) {
  for (size_t i = 0; i + 2 <= len;) {
    const uint8_t tag = d[i], n = d[i + 1];
    if (i + 2 + n > len) break;
    if (tag == 0x0a && n >= 3) {
      std::string code(reinterpret_cast<const char*>(d + i + 2), 3);
      for (char& c : code) {
        if (!g_ascii_isalpha(c)) return "";
        c = g_ascii_tolower(c);
      }
      return code;
    }
    i += 2 + n;
  }
  return "";
}

// " audio_tracks=aac/eng,aac/fra" when there are several, for the log.
std::string audio_list(const std::vector<TsTrackProbe::AudioTrack>& tracks) {
  if (tracks.size() < 2) return "";
  std::string out = " audio_tracks=";
  for (size_t i = 0; i < tracks.size(); ++i)
    out += (i ? "," : "") + tracks[i].codec + (tracks[i].language.empty() ? "" : "/" + tracks[i].language);
  return out;
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
      if (const uint8_t* s = ts_section_of(pkt, &len)) on_section(pid, s, len);
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
    if (!video.empty() && video_.empty()) {
      video_ = video;
    } else if (!audio.empty() && audio_tracks_.size() < kMaxAudioTracks) {
      if (audio_.empty()) audio_ = audio;
      const int pid = ((s[i + 1] & 0x1f) << 8) | s[i + 2];
      audio_tracks_.push_back({pid, audio, language_of(s + i + 5, es_info)});
    } else {
      ignored_.push_back(type);
    }
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
  const bool video = !probe_.video().empty(), audio = !probe_.audio().empty();
  DemuxIngestSpec spec;
  spec.stream = stream_name_;
  spec.demuxer = "tsdemux";
  spec.caps = Ref<GstCaps>::adopt(gst_caps_new_simple("video/mpegts", "systemstream", G_TYPE_BOOLEAN, TRUE,
                                                      "packetsize", G_TYPE_INT, 188, nullptr));
  // Bytes with no timestamps: tsdemux times the stream from its PCR/PTS. The bound is enforced in
  // push_bytes (we count what is dropped).
  spec.max_bytes = settings_.max_pending_bytes;
  spec.video = video;  // exactly the tracks the PMT listed
  spec.audio = audio;
  for (const TsTrackProbe::AudioTrack& t : probe_.audio_tracks()) spec.audio_tracks.push_back({t.pid, t.language});
  spec.gop_cache_max_bytes = settings_.gop_cache_max_bytes;
  spec.events = events_;
  Result<DemuxIngest> ingest = start_demux_ingest(spec);
  if (!ingest) return ingest.error();
  pipeline_ = std::move(ingest->pipeline);
  appsrc_ = std::move(ingest->appsrc);
  std::string ignored;
  for (int t : probe_.ignored())
    ignored += (ignored.empty() ? " ignored stream types:" : "") + std::string(" 0x") +
               "0123456789abcdef"[(t >> 4) & 0xf] + "0123456789abcdef"[t & 0xf];
  log_info(stream_name_, "", "ingest-start",
           "ingest pipeline started (mpeg-ts) video=" + (video ? probe_.video() : std::string("no")) +
               " audio=" + (audio ? probe_.audio() : std::string("no")) + audio_list(probe_.audio_tracks()) + ignored);
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
