// Owns: CMAF init segments and fragments (see cmaf_writer.h).
#include "pipelines/cmaf_writer.h"

#include "pipelines/av1_config.h"
#include "pipelines/cmaf_box.h"

namespace estuary::pipelines::cmaf {
namespace {

constexpr uint32_t kSyncFlags = 0x02000000;     // sample_depends_on = 2 (depends on no other)
constexpr uint32_t kNonSyncFlags = 0x01010000;  // sample_depends_on = 1, sample_is_non_sync_sample

void matrix(BoxWriter& w) {
  const uint32_t m[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};
  for (uint32_t v : m) w.u32(v);
}

void write_mvhd(BoxWriter& w, uint32_t next_track) {
  w.begin_full("mvhd", 0, 0);
  w.u32(0);     // creation_time
  w.u32(0);     // modification_time
  w.u32(1000);  // timescale
  w.u32(0);     // duration: fragmented
  w.u32(0x00010000);
  w.u16(0x0100);
  w.zeros(10);
  matrix(w);
  w.zeros(24);  // pre_defined
  w.u32(next_track);
  w.end();
}

void write_tkhd(BoxWriter& w, uint32_t id, const TrackConfig& t) {
  w.begin_full("tkhd", 0, 0x3);  // enabled, in movie
  w.u32(0);
  w.u32(0);
  w.u32(id);
  w.u32(0);
  w.u32(0);  // duration
  w.zeros(8);
  w.u16(0);  // layer
  w.u16(0);  // alternate_group
  w.u16(t.is_video() ? 0 : 0x0100);
  w.u16(0);
  matrix(w);
  w.u32(uint32_t(t.width) << 16);
  w.u32(uint32_t(t.height) << 16);
  w.end();
}

void write_visual_entry(BoxWriter& w, const TrackConfig& t) {
  const char* entry = t.codec == Codec::h265 ? "hvc1" : t.codec == Codec::av1 ? "av01" : "avc1";
  const char* record = t.codec == Codec::h265 ? "hvcC" : t.codec == Codec::av1 ? "av1C" : "avcC";
  w.begin(entry);
  w.zeros(6);
  w.u16(1);  // data_reference_index
  w.zeros(16);
  w.u16(uint16_t(t.width));
  w.u16(uint16_t(t.height));
  w.u32(0x00480000);  // 72 dpi
  w.u32(0x00480000);
  w.u32(0);
  w.u16(1);  // frame_count
  w.zeros(32);
  w.u16(0x0018);
  w.u16(0xffff);
  w.begin(record);
  w.bytes(t.codec_private);
  w.end();
  w.end();
}

// An MPEG-4 descriptor header; lengths here are always < 128.
void descriptor(BoxWriter& w, uint8_t tag, size_t length) {
  w.u8(tag);
  w.u8(uint8_t(length));
}

void write_audio_entry(BoxWriter& w, const TrackConfig& t) {
  const bool opus = t.codec == Codec::opus;
  w.begin(opus ? "Opus" : "mp4a");
  w.zeros(6);
  w.u16(1);
  w.zeros(8);
  w.u16(uint16_t(t.channels));
  w.u16(16);
  w.u32(0);
  w.u32(uint32_t(opus ? 48000 : t.sample_rate) << 16);
  if (opus) {
    // dOps from the stream's OpusHead when it has one ("OpusHead", version, channels, pre-skip LE,
    // input rate LE, gain LE, mapping family), else the usual defaults.
    const auto& h = t.codec_private;
    uint16_t pre_skip = 312;
    uint32_t input_rate = uint32_t(t.sample_rate ? t.sample_rate : 48000);
    if (h.size() >= 19 && std::string(h.begin(), h.begin() + 8) == "OpusHead") {
      pre_skip = uint16_t(h[10] | (h[11] << 8));
      input_rate = uint32_t(h[12] | (h[13] << 8) | (h[14] << 16) | (uint32_t(h[15]) << 24));
    }
    w.begin("dOps");
    w.u8(0);
    w.u8(uint8_t(t.channels));
    w.u16(pre_skip);
    w.u32(input_rate);
    w.u16(0);
    w.u8(0);  // channel mapping family 0: mono or stereo
    w.end();
  } else {
    const auto& asc = t.codec_private;
    w.begin_full("esds", 0, 0);
    descriptor(w, 0x03, 3 + 2 + 13 + 2 + asc.size() + 3);
    w.u16(0);  // ES_ID
    w.u8(0);
    descriptor(w, 0x04, 13 + 2 + asc.size());
    w.u8(0x40);  // MPEG-4 audio
    w.u8(0x15);  // audio stream
    w.u24(0);
    w.u32(0);
    w.u32(0);
    descriptor(w, 0x05, asc.size());
    w.bytes(asc);
    descriptor(w, 0x06, 1);
    w.u8(0x02);
    w.end();
  }
  w.end();
}

void write_trak(BoxWriter& w, uint32_t id, const TrackConfig& t) {
  w.begin("trak");
  write_tkhd(w, id, t);
  w.begin("mdia");
  w.begin_full("mdhd", 0, 0);
  w.u32(0);
  w.u32(0);
  w.u32(t.timescale());
  w.u32(0);
  w.u16(0x55c4);  // "und"
  w.u16(0);
  w.end();
  w.begin_full("hdlr", 0, 0);
  w.u32(0);
  w.fourcc(t.is_video() ? "vide" : "soun");
  w.zeros(12);
  const char* name = t.is_video() ? "VideoHandler" : "SoundHandler";
  w.bytes(reinterpret_cast<const uint8_t*>(name), std::string(name).size() + 1);
  w.end();
  w.begin("minf");
  if (t.is_video()) {
    w.begin_full("vmhd", 0, 1);
    w.zeros(8);
  } else {
    w.begin_full("smhd", 0, 0);
    w.zeros(4);
  }
  w.end();
  w.begin("dinf");
  w.begin_full("dref", 0, 0);
  w.u32(1);
  w.begin_full("url ", 0, 1);  // media in the same file
  w.end();
  w.end();
  w.end();
  w.begin("stbl");
  w.begin_full("stsd", 0, 0);
  w.u32(1);
  if (t.is_video())
    write_visual_entry(w, t);
  else
    write_audio_entry(w, t);
  w.end();
  for (const char* empty : {"stts", "stsc", "stco"}) {
    w.begin_full(empty, 0, 0);
    w.u32(0);
    w.end();
  }
  w.begin_full("stsz", 0, 0);
  w.u32(0);
  w.u32(0);
  w.end();
  w.end();  // stbl
  w.end();  // minf
  w.end();  // mdia
  w.end();  // trak
}

}  // namespace

uint32_t TrackConfig::timescale() const {
  if (is_video()) return 90000;
  if (codec == Codec::opus) return 48000;
  return uint32_t(sample_rate > 0 ? sample_rate : 48000);
}

std::string TrackConfig::codec_string() const {
  switch (codec) {
    case Codec::h264:
      return avc_codec_string(codec_private);
    case Codec::h265:
      return hevc_codec_string(codec_private);
    case Codec::av1:
      return av1::av1_codec_string(codec_private);
    case Codec::aac:
      return aac_codec_string(codec_private);
    case Codec::opus:
      return "opus";
  }
  return "";
}

std::vector<uint8_t> write_init_segment(const std::vector<TrackConfig>& tracks) {
  for (const auto& t : tracks)
    if (t.codec != Codec::opus && t.codec_private.empty()) return {};
  BoxWriter w;
  w.begin("ftyp");
  w.fourcc("iso6");
  w.u32(0);
  for (const char* brand : {"iso6", "cmfc", "mp41", "dash"}) w.fourcc(brand);
  w.end();
  w.begin("moov");
  write_mvhd(w, uint32_t(tracks.size() + 1));
  for (size_t i = 0; i < tracks.size(); ++i) write_trak(w, uint32_t(i + 1), tracks[i]);
  w.begin("mvex");
  for (size_t i = 0; i < tracks.size(); ++i) {
    w.begin_full("trex", 0, 0);
    w.u32(uint32_t(i + 1));
    w.u32(1);  // sample description index
    w.u32(0);
    w.u32(0);
    w.u32(0);
    w.end();
  }
  w.end();
  w.end();
  return w.take();
}

std::vector<uint8_t> write_fragment(uint32_t sequence_number, const std::vector<TrackRun>& runs) {
  BoxWriter w;
  std::vector<size_t> offset_fields;  // trun data_offset positions, one per written run
  std::vector<const TrackRun*> written;
  w.begin("moof");
  w.begin_full("mfhd", 0, 0);
  w.u32(sequence_number);
  w.end();
  for (const auto& run : runs) {
    if (run.samples.empty()) continue;
    written.push_back(&run);
    w.begin("traf");
    w.begin_full("tfhd", 0, 0x020000);  // default-base-is-moof
    w.u32(run.track_id);
    w.end();
    w.begin_full("tfdt", 1, 0);
    w.u64(run.base_decode_time);
    w.end();
    bool any_cto = false;
    for (const auto& s : run.samples) any_cto = any_cto || s.cto != 0;
    // data-offset, duration, size, flags, and composition offsets when any sample has one.
    w.begin_full("trun", 1, 0x000001 | 0x000100 | 0x000200 | 0x000400 | (any_cto ? 0x000800 : 0));
    w.u32(uint32_t(run.samples.size()));
    offset_fields.push_back(w.size());
    w.u32(0);
    for (const auto& s : run.samples) {
      w.u32(s.duration);
      w.u32(uint32_t(s.data->size()));
      w.u32(s.sync ? kSyncFlags : kNonSyncFlags);
      if (any_cto) w.u32(uint32_t(s.cto));
    }
    w.end();
    w.end();  // traf
  }
  w.end();  // moof
  // Data offsets count from the moof's first byte; the samples follow the 8-byte mdat header.
  size_t offset = w.size() + 8;
  for (size_t i = 0; i < written.size(); ++i) {
    w.patch_u32(offset_fields[i], uint32_t(offset));
    for (const auto& s : written[i]->samples) offset += s.data->size();
  }
  w.begin("mdat");
  for (const TrackRun* run : written)
    for (const auto& s : run->samples) w.bytes(*s.data);
  w.end();
  return w.take();
}

}  // namespace estuary::pipelines::cmaf
