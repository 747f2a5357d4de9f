// Owns: TsDemux and the Opus-in-TS access-unit split (see ts_demux.h).
#include "pipelines/ts_demux.h"

#include <string>

#include "pipelines/ts_guard.h"
#include "pipelines/ts_packets.h"

namespace estuary::pipelines {
namespace {

constexpr int64_t kWrap = int64_t(1) << 33;

uint64_t read_timestamp(const uint8_t* f) {
  return (uint64_t(f[0] >> 1) & 0x7) << 30 | uint64_t(f[1]) << 22 | uint64_t(f[2] >> 1) << 15 | uint64_t(f[3]) << 7 |
         uint64_t(f[4] >> 1);
}

}  // namespace

bool ts_codec_of(int stream_type, bool opus_registered, TsCodec* codec) {
  switch (stream_type) {
    case 0x1b:
      return *codec = TsCodec::h264, true;
    case 0x24:
      return *codec = TsCodec::h265, true;
    case 0x0f:
      return *codec = TsCodec::aac_adts, true;
    case 0x11:
      return *codec = TsCodec::aac_latm, true;
    case 0x03:
    case 0x04:
      return *codec = TsCodec::mpeg_audio, true;
    case 0x06:
      if (!opus_registered) return false;
      return *codec = TsCodec::opus, true;
    default:
      return false;
  }
}

bool ts_codec_is_video(TsCodec codec) { return codec == TsCodec::h264 || codec == TsCodec::h265; }

const char* ts_codec_name(TsCodec codec) {
  switch (codec) {
    case TsCodec::h264:
      return "h264";
    case TsCodec::h265:
      return "h265";
    case TsCodec::aac_adts:
    case TsCodec::aac_latm:
      return "aac";
    case TsCodec::mpeg_audio:
      return "mp3";
    case TsCodec::opus:
      return "opus";
  }
  return "?";
}

unsigned opus_packet_samples(const uint8_t* data, size_t len) {
  if (len < 1) return 0;
  const unsigned config = data[0] >> 3;
  unsigned frame = 0;
  if (config < 12) {
    static constexpr unsigned silk[] = {480, 960, 1920, 2880};
    frame = silk[config & 3];
  } else if (config < 16) {
    frame = (config & 1) ? 960 : 480;
  } else {
    static constexpr unsigned celt[] = {120, 240, 480, 960};
    frame = celt[config & 3];
  }
  unsigned frames = 1;
  switch (data[0] & 3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default:
      if (len < 2) return 0;
      frames = data[1] & 0x3f;
  }
  return frame * frames;
}

TsDemux::TsDemux(std::vector<TsDemuxTrack> tracks, TsDemuxLimits limits) : limits_(limits) {
  for (const TsDemuxTrack& t : tracks) {
    if (tracks_.size() >= kMaxTracks) break;
    bool dup = false;
    for (const TsDemuxTrack& have : tracks_) dup = dup || have.pid == t.pid;
    if (!dup) tracks_.push_back(t);
  }
  states_.resize(tracks_.size());
}

int64_t TsDemux::unwrap(uint64_t ts33) {
  ts33 &= uint64_t(kWrap - 1);
  if (!have_last_) {
    have_last_ = true;
    last_ = int64_t(ts33);
    return last_;
  }
  // The nearest value congruent to ts33 modulo 2^33: forward across a wrap, or slightly backward (a
  // B-frame's PTS below the previous DTS, an audio track a little behind the video).
  int64_t delta = (int64_t(ts33) - last_) % kWrap;
  if (delta < 0) delta += kWrap;
  if (delta >= kWrap / 2) delta -= kWrap;
  last_ += delta;
  return last_;
}

void TsDemux::packet(const uint8_t* pkt, std::vector<TsUnit>& out) {
  if (pkt[0] != 0x47) return;
  const int pid = ((pkt[1] & 0x1f) << 8) | pkt[2];
  size_t index = 0;
  while (index < tracks_.size() && tracks_[index].pid != pid) ++index;
  if (index == tracks_.size()) return;
  if ((pkt[1] & 0x80) || (pkt[3] & 0xc0)) return;  // transport error, scrambled
  const uint8_t afc = (pkt[3] >> 4) & 0x3;
  if (!(afc & 1)) return;  // no payload: the counter does not advance
  const bool unit_start = pkt[1] & 0x40;
  const int cc = pkt[3] & 0xf;
  const bool discontinuity = (afc & 2) && pkt[4] > 0 && (pkt[5] & 0x80);
  State& st = states_[index];
  if (st.cc >= 0 && !discontinuity) {
    if (cc == st.cc) return;  // a repeated packet (allowed once by the standard)
    if (cc != ((st.cc + 1) & 0xf)) {
      ++stats_.cc_gaps;
      if (st.in_pes) drop(st);
      st.discont = true;
    }
  }
  st.cc = cc;
  size_t len = 0;
  const uint8_t* payload = ts_payload_of(pkt, &len);
  if (!payload || len == 0) return;
  if (unit_start) {
    if (st.in_pes) finish(index, out);
    start_pes(index, payload, len, out);
  } else if (st.in_pes) {
    append(index, payload, len, out);
  }
}

void TsDemux::drop(State& st) {
  ++stats_.pes_dropped;
  st.in_pes = false;
  st.discont = true;
  st.data.clear();
}

void TsDemux::start_pes(size_t index, const uint8_t* p, size_t len, std::vector<TsUnit>& out) {
  State& st = states_[index];
  std::string why;
  if (!pes_header_is_valid(p, len, &why)) {  // also bounds every field read below
    drop(st);
    return;
  }
  const size_t header_data = p[8];
  const size_t packet_length = (size_t(p[4]) << 8) | p[5];
  const uint8_t pts_dts = p[7] >> 6;
  st.pts = unwrap(read_timestamp(p + 9));
  st.dts = pts_dts == 3 ? unwrap(read_timestamp(p + 14)) : st.pts;
  st.expected = packet_length ? packet_length - 3 - header_data : 0;
  st.in_pes = true;
  st.data.clear();
  append(index, p + 9 + header_data, len - 9 - header_data, out);
}

void TsDemux::append(size_t index, const uint8_t* p, size_t len, std::vector<TsUnit>& out) {
  State& st = states_[index];
  const size_t limit = ts_codec_is_video(tracks_[index].codec) ? limits_.max_video_pes : limits_.max_audio_pes;
  if (st.expected && st.data.size() + len > st.expected) len = st.expected - st.data.size();  // stuffing after it
  if (st.data.size() + len > limit) {
    ++stats_.oversize;
    drop(st);
    return;
  }
  st.data.insert(st.data.end(), p, p + len);
  if (st.expected && st.data.size() == st.expected) finish(index, out);
}

void TsDemux::finish(size_t index, std::vector<TsUnit>& out) {
  State& st = states_[index];
  if (st.expected && st.data.size() < st.expected) {  // the next PES began before this one's end
    drop(st);
    return;
  }
  st.in_pes = false;
  if (st.data.empty()) return;
  if (tracks_[index].codec == TsCodec::opus) {
    emit_opus(index, st, out);
    return;
  }
  TsUnit unit;
  unit.track = index;
  unit.data.swap(st.data);
  unit.pts = st.pts;
  unit.dts = st.dts;
  unit.discont = st.discont;
  st.discont = false;
  out.push_back(std::move(unit));
  ++stats_.units;
}

// Each Opus access unit of a PES: 11-bit prefix 0x3ff, start_trim/end_trim/control_extension flags,
// au_size as a run of 0xff bytes plus a last byte, the optional fields, then au_size bytes. The first
// unit takes the PES's PTS, each further one the PTS advanced by the samples before it.
void TsDemux::emit_opus(size_t index, State& st, std::vector<TsUnit>& out) {
  const uint8_t* p = st.data.data();
  const size_t n = st.data.size();
  size_t off = 0;
  uint64_t samples = 0;
  while (off < n) {
    if (n - off < 3 || ((p[off] << 3) | (p[off + 1] >> 5)) != 0x3ff) {
      ++stats_.opus_malformed;
      st.discont = true;
      break;
    }
    const uint8_t flags = p[off + 1];
    off += 2;
    size_t au = 0;
    while (off < n) {
      const uint8_t c = p[off++];
      au += c;
      if (c != 0xff) break;
    }
    unsigned trim[2] = {0, 0};  // start, end: 3 reserved bits and 13 bits each
    for (int i = 0; i < 2; ++i) {
      if (!(flags & (0x10 >> i))) continue;
      if (n - off >= 2) trim[i] = ((p[off] & 0x1f) << 8) | p[off + 1];
      off += 2;
    }
    if ((flags & 0x04) && off < n) off += 1 + size_t(p[off]);  // control_extension
    if (off > n || au > n - off || au == 0) {
      ++stats_.opus_malformed;
      st.discont = true;
      break;
    }
    TsUnit unit;
    unit.track = index;
    unit.data.assign(p + off, p + off + au);
    unit.pts = st.pts + int64_t(samples * 15 / 8);  // 48 kHz samples in 90 kHz ticks
    unit.dts = unit.pts;
    unit.discont = st.discont;
    unit.start_trim = trim[0];
    unit.end_trim = trim[1];
    st.discont = false;
    samples += opus_packet_samples(p + off, au);
    out.push_back(std::move(unit));
    ++stats_.units;
    off += au;
  }
  st.data.clear();
}

}  // namespace estuary::pipelines
