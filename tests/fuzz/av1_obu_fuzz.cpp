// Owns: the libFuzzer target of the AV1 OBU walker and sequence header parser (pipelines/av1_config.h)
// that the CMAF packager runs over every published AV1 temporal unit and av1C record.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pipelines/av1_config.h"

using namespace estuary::pipelines;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (auto obus = av1::split_obus(data, size)) {
    for (const av1::Obu& o : *obus) {
      if (o.begin < data || o.begin + o.size > data + size) std::abort();
      if (o.payload < o.begin || o.payload + o.payload_size > o.begin + o.size) std::abort();
    }
  }
  auto av1c = av1::av1c_from_obus(data, size);
  if (!av1c.empty() && (av1c.size() < 5 || av1c[0] != 0x81)) std::abort();
  (void)av1::av1_codec_string(av1c);
  (void)av1::av1c_from_record(std::vector<uint8_t>(data, data + size));
  (void)av1::parse_sequence_header(data, size);
  if (auto sample = av1::mp4_sample(data, size))
    if (sample->size() > size) std::abort();
  (void)av1::has_sequence_header(data, size);
  return 0;
}
