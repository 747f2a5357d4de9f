// Owns: AV1 OBU walking, sequence header parsing and av1C (see av1_config.h). Field order from the AV1
// bitstream specification (sections 5.3 and 5.5) and the AV1 ISO-BMFF binding (section 2.3).
#include "pipelines/av1_config.h"

#include <cstdio>

namespace estuary::pipelines::av1 {
namespace {

// MSB-first bit reader; reading past the end sets `bad` and yields zeros.
class Bits {
 public:
  Bits(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  uint32_t f(int bits) {
    uint32_t v = 0;
    for (int i = 0; i < bits; ++i) {
      if (pos_ >= n_ * 8) {
        bad = true;
        return 0;
      }
      v = (v << 1) | ((p_[pos_ / 8] >> (7 - pos_ % 8)) & 1);
      ++pos_;
    }
    return v;
  }
  bool flag() { return f(1) != 0; }
  // uvlc(): leading zeros, then that many bits.
  void skip_uvlc() {
    int zeros = 0;
    while (!bad && !f(1))
      if (++zeros >= 32) return;
    if (zeros < 32) f(zeros);
  }
  bool bad = false;

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

// leb128() of at most 8 bytes; false if truncated or too large.
bool read_leb128(const uint8_t* p, size_t n, size_t* used, uint64_t* value) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    if (i >= n) return false;
    v |= uint64_t(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) {
      *used = i + 1;
      *value = v;
      return true;
    }
  }
  return false;
}

void parse_color_config(Bits& b, SequenceInfo& s) {
  const bool high_bitdepth = b.flag();
  s.bit_depth = high_bitdepth ? 10 : 8;
  if (s.profile == 2 && high_bitdepth && b.flag()) s.bit_depth = 12;
  s.monochrome = s.profile == 1 ? false : b.flag();
  uint32_t primaries = 2, transfer = 2, matrix = 2;
  if (b.flag()) {  // color_description_present_flag
    primaries = b.f(8);
    transfer = b.f(8);
    matrix = b.f(8);
  }
  if (s.monochrome) {
    b.f(1);  // color_range
    s.subsampling_x = s.subsampling_y = true;
    return;
  }
  if (primaries == 1 && transfer == 13 && matrix == 0) {  // sRGB: 4:4:4, full range
    s.subsampling_x = s.subsampling_y = false;
  } else {
    b.f(1);  // color_range
    if (s.profile == 0) {
      s.subsampling_x = s.subsampling_y = true;
    } else if (s.profile == 1) {
      s.subsampling_x = s.subsampling_y = false;
    } else if (s.bit_depth == 12) {
      s.subsampling_x = b.flag();
      s.subsampling_y = s.subsampling_x ? b.flag() : false;
    } else {
      s.subsampling_x = true;
      s.subsampling_y = false;
    }
    if (s.subsampling_x && s.subsampling_y) s.chroma_sample_position = uint8_t(b.f(2));
  }
  b.f(1);  // separate_uv_delta_q
}

}  // namespace

std::optional<std::vector<Obu>> split_obus(const uint8_t* data, size_t size, size_t max_obus) {
  std::vector<Obu> out;
  size_t pos = 0;
  while (pos < size) {
    if (out.size() >= max_obus) return std::nullopt;
    const uint8_t h = data[pos];
    if (h & 0x80) return std::nullopt;     // obu_forbidden_bit
    if (!(h & 0x02)) return std::nullopt;  // obu_has_size_field: required in the low-overhead format
    const size_t header = (h & 0x04) ? 2 : 1;
    if (size - pos < header) return std::nullopt;
    size_t used = 0;
    uint64_t payload = 0;
    if (!read_leb128(data + pos + header, size - pos - header, &used, &payload)) return std::nullopt;
    const size_t before = header + used;
    if (payload > size - pos - before) return std::nullopt;
    Obu o;
    o.type = uint8_t((h >> 3) & 0x0f);
    o.begin = data + pos;
    o.size = before + size_t(payload);
    o.payload = data + pos + before;
    o.payload_size = size_t(payload);
    out.push_back(o);
    pos += o.size;
  }
  return out;
}

std::optional<SequenceInfo> parse_sequence_header(const uint8_t* payload, size_t size) {
  Bits b(payload, size);
  SequenceInfo s;
  s.profile = uint8_t(b.f(3));
  if (s.profile > 2) return std::nullopt;
  b.f(1);  // still_picture
  const bool reduced = b.flag();
  if (reduced) {
    s.level = uint8_t(b.f(5));
  } else {
    bool decoder_model_info = false;
    uint32_t buffer_delay_bits = 0;
    if (b.flag()) {                 // timing_info_present_flag
      b.f(32);                      // num_units_in_display_tick
      b.f(32);                      // time_scale
      if (b.flag()) b.skip_uvlc();  // equal_picture_interval: num_ticks_per_picture_minus_1
      decoder_model_info = b.flag();
      if (decoder_model_info) {
        buffer_delay_bits = b.f(5) + 1;
        b.f(32);  // num_units_in_decoding_tick
        b.f(5);   // buffer_removal_time_length_minus_1
        b.f(5);   // frame_presentation_time_length_minus_1
      }
    }
    const bool initial_display_delay = b.flag();
    const uint32_t points = b.f(5) + 1;
    for (uint32_t i = 0; i < points && !b.bad; ++i) {
      b.f(12);  // operating_point_idc
      const uint8_t level = uint8_t(b.f(5));
      const uint8_t tier = level > 7 ? uint8_t(b.f(1)) : 0;
      if (i == 0) s.level = level, s.tier = tier;
      if (decoder_model_info && b.flag()) {
        b.f(int(buffer_delay_bits));  // decoder_buffer_delay
        b.f(int(buffer_delay_bits));  // encoder_buffer_delay
        b.f(1);                       // low_delay_mode_flag
      }
      if (initial_display_delay && b.flag()) b.f(4);
    }
  }
  const int width_bits = int(b.f(4)) + 1;
  const int height_bits = int(b.f(4)) + 1;
  s.max_width = b.f(width_bits) + 1;
  s.max_height = b.f(height_bits) + 1;
  if (!reduced && b.flag()) {  // frame_id_numbers_present_flag
    b.f(4);
    b.f(3);
  }
  b.f(3);  // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reduced) {
    b.f(4);  // interintra, masked compound, warped motion, dual filter
    const bool order_hint = b.flag();
    if (order_hint) b.f(2);  // enable_jnt_comp, enable_ref_frame_mvs
    uint32_t force_screen_content = 2;
    if (!b.flag()) force_screen_content = b.f(1);       // seq_choose_screen_content_tools
    if (force_screen_content > 0 && !b.flag()) b.f(1);  // seq_choose_integer_mv, seq_force_integer_mv
    if (order_hint) b.f(3);                             // order_hint_bits_minus_1
  }
  b.f(3);  // enable_superres, enable_cdef, enable_restoration
  parse_color_config(b, s);
  if (b.bad) return std::nullopt;
  return s;
}

std::vector<uint8_t> av1c_from_obus(const uint8_t* obus, size_t size) {
  auto list = split_obus(obus, size);
  if (!list) return {};
  for (const Obu& o : *list) {
    if (o.type != sequence_header) continue;
    auto s = parse_sequence_header(o.payload, o.payload_size);
    if (!s) return {};
    std::vector<uint8_t> out = {
        0x81,  // marker, version 1
        uint8_t((s->profile << 5) | (s->level & 0x1f)),
        uint8_t((s->tier << 7) | ((s->bit_depth > 8) << 6) | ((s->bit_depth == 12) << 5) | (s->monochrome << 4) |
                (s->subsampling_x << 3) | (s->subsampling_y << 2) | (s->chroma_sample_position & 3)),
        0x00,  // no initial_presentation_delay
    };
    out.insert(out.end(), o.begin, o.begin + o.size);
    return out;
  }
  return {};
}

std::vector<uint8_t> av1c_from_record(const std::vector<uint8_t>& av1c) {
  if (av1c.size() < 4 || av1c[0] != 0x81) return {};
  return av1c_from_obus(av1c.data() + 4, av1c.size() - 4);
}

std::string av1_codec_string(const std::vector<uint8_t>& av1c) {
  if (av1c.size() < 4 || av1c[0] != 0x81) return "";
  const int profile = av1c[1] >> 5, level = av1c[1] & 0x1f;
  const bool tier = av1c[2] >> 7, high = (av1c[2] >> 6) & 1, twelve = (av1c[2] >> 5) & 1;
  char s[32];
  std::snprintf(s, sizeof s, "av01.%d.%02d%c.%02d", profile, level, tier ? 'H' : 'M', twelve ? 12 : high ? 10 : 8);
  return s;
}

std::optional<std::vector<uint8_t>> mp4_sample(const uint8_t* data, size_t size) {
  auto list = split_obus(data, size);
  if (!list) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(size);
  for (const Obu& o : *list)
    if (o.type != temporal_delimiter && o.type != padding && o.type != redundant_frame_header)
      out.insert(out.end(), o.begin, o.begin + o.size);
  return out;
}

bool has_sequence_header(const uint8_t* data, size_t size) {
  auto list = split_obus(data, size);
  if (!list) return false;
  for (const Obu& o : *list)
    if (o.type == sequence_header) return true;
  return false;
}

}  // namespace estuary::pipelines::av1
