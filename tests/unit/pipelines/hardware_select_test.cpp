// Hardware placeholders against a fake registry (issue #19, part 2): the property mapping of each
// encoder family checked against the element's property list for GStreamer 1.22 (taken from the
// 1.22 elements' class_init / documentation, and each mapped name confirmed present in Debian's
// installed 1.22.0 libgstnvcodec.so / libgstva.so / libgstqsv.so); a candidate whose mapping names
// a missing property is refused naming element and property; [encoders] prefer / exclude / device;
// decoder selection (NVDEC, VA, libav) and @h264dec / @scale expansion keeping frames in CUDA or VA
// memory; and on this GPU-less machine the real registry resolving to the software elements.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "pipelines/decoder_select.h"
#include "pipelines/element_catalog.h"
#include "pipelines/encoder_select.h"
#include "pipelines/launch_placeholders.h"

using namespace estuary::pipelines;

namespace {

// GstObject + GstVideoEncoder properties every encoder has.
const std::vector<std::string> kBase = {"name", "parent", "qos", "min-force-key-unit-interval"};

std::vector<std::string> with_base(std::vector<std::string> v) {
  v.insert(v.end(), kBase.begin(), kBase.end());
  return v;
}

// nvautogpuh264enc / nvcudah264enc, 1.22 (GstNvEncoder; gstnvh264encoder.cpp). No "tune" or
// "multi-pass" (1.24). Conditional ones (b-frames, rc-lookahead, ...) as on a device that has them.
const std::vector<std::string> kNvEncoder122 = with_base({"cuda-device-id",
                                                          "preset",
                                                          "weighted-pred",
                                                          "gop-size",
                                                          "b-frames",
                                                          "rate-control",
                                                          "qp-i",
                                                          "qp-p",
                                                          "qp-b",
                                                          "bitrate",
                                                          "max-bitrate",
                                                          "vbv-buffer-size",
                                                          "rc-lookahead",
                                                          "i-adapt",
                                                          "b-adapt",
                                                          "spatial-aq",
                                                          "temporal-aq",
                                                          "zero-reorder-delay",
                                                          "nonref-p",
                                                          "strict-gop",
                                                          "aq-strength",
                                                          "min-qp-i",
                                                          "min-qp-p",
                                                          "min-qp-b",
                                                          "max-qp-i",
                                                          "max-qp-p",
                                                          "max-qp-b",
                                                          "const-quality",
                                                          "aud",
                                                          "cabac",
                                                          "repeat-sequence-header"});
// nvh264enc, 1.22 (GstNvBaseEnc + gstnvh264enc.c): cuda-device-id is read-only.
const std::vector<std::string> kNvH264EncLegacy122 = with_base(
    {"cuda-device-id", "preset",      "rc-mode",    "qp-min",      "qp-max",      "qp-const",      "gop-size",
     "max-bitrate",    "bitrate",     "spatial-aq", "aq-strength", "zerolatency", "nonref-p",      "strict-gop",
     "const-quality",  "i-adapt",     "qp-min-i",   "qp-min-p",    "qp-min-b",    "qp-max-i",      "qp-max-p",
     "qp-max-b",       "qp-const-i",  "qp-const-p", "qp-const-b",  "aud",         "weighted-pred", "vbv-buffer-size",
     "rc-lookahead",   "temporal-aq", "bframes",    "b-adapt"});
// vah264enc / vah264lpenc, 1.22 (gstvah264enc.c + gstvabaseenc.c).
const std::vector<std::string> kVaH264Enc122 = with_base({"device-path",
                                                          "key-int-max",
                                                          "b-frames",
                                                          "i-frames",
                                                          "num-slices",
                                                          "b-pyramid",
                                                          "max-qp",
                                                          "min-qp",
                                                          "qpi",
                                                          "qpp",
                                                          "qpb",
                                                          "dct8x8",
                                                          "cabac",
                                                          "trellis",
                                                          "mbbrc",
                                                          "bitrate",
                                                          "target-percentage",
                                                          "target-usage",
                                                          "rate-control",
                                                          "cpb-size",
                                                          "aud",
                                                          "ref-frames"});
// vah265enc, 1.22 (gstvah265enc.c).
const std::vector<std::string> kVaH265Enc122 =
    with_base({"device-path",   "key-int-max",  "b-frames", "i-frames", "num-slices",
               "b-pyramid",     "max-qp",       "min-qp",   "qpi",      "qpp",
               "qpb",           "trellis",      "mbbrc",    "bitrate",  "target-percentage",
               "target-usage",  "rate-control", "cpb-size", "aud",      "ref-frames",
               "num-tile-cols", "num-tile-rows"});
// qsvh264enc, 1.22 (gstqsvencoder.cpp: device-path, target-usage, low-latency; gstqsvh264enc.cpp).
const std::vector<std::string> kQsvH264Enc122 = with_base({"device-path",
                                                           "target-usage",
                                                           "low-latency",
                                                           "min-qp-i",
                                                           "min-qp-p",
                                                           "min-qp-b",
                                                           "max-qp-i",
                                                           "max-qp-p",
                                                           "max-qp-b",
                                                           "qp-i",
                                                           "qp-p",
                                                           "qp-b",
                                                           "gop-size",
                                                           "idr-interval",
                                                           "b-frames",
                                                           "ref-frames",
                                                           "bitrate",
                                                           "max-bitrate",
                                                           "rate-control",
                                                           "rc-lookahead",
                                                           "rc-lookahead-ds",
                                                           "avbr-accuracy",
                                                           "avbr-convergence",
                                                           "icq-quality",
                                                           "qvbr-quality",
                                                           "disable-hrd-conformance",
                                                           "cc-insert",
                                                           "cabac"});

std::map<std::string, std::vector<std::string>> documented_properties() {
  return {{"nvautogpuh264enc", kNvEncoder122},
          {"nvcudah264enc", kNvEncoder122},
          {"nvautogpuh265enc", kNvEncoder122},
          {"nvh264enc", kNvH264EncLegacy122},
          {"vah264enc", kVaH264Enc122},
          {"vah264lpenc", kVaH264Enc122},
          {"vah265enc", kVaH265Enc122},
          {"qsvh264enc", kQsvH264Enc122},
          {"nvh264device1enc", kNvH264EncLegacy122},
          {"varenderD129h264enc", kVaH264Enc122}};
}

// The documented lists for the hardware elements; the real registry for the software ones.
PropertyListFn fake_properties(std::map<std::string, std::vector<std::string>> lists) {
  return [lists](const std::string& factory, std::vector<std::string>* names) {
    auto it = lists.find(factory);
    if (it != lists.end()) {
      *names = it->second;
      return true;
    }
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
    auto real = element_property_names(factory);
    if (!real) return false;
    *names = *real;
    return true;
  };
}

TestEncodeFn all_pass(std::vector<std::string>* tried) {
  return [tried](const std::string& fragment, std::string*) {
    tried->push_back(fragment);
    return true;
  };
}

const std::vector<EncoderFactoryInfo> kHwH264 = {
    {"nvautogpuh264enc", "Codec/Encoder/Video/Hardware", 0}, {"nvh264enc", "Codec/Encoder/Video/Hardware", 257},
    {"vah264lpenc", "Codec/Encoder/Video/Hardware", 0},      {"vah264enc", "Codec/Encoder/Video/Hardware", 0},
    {"qsvh264enc", "Codec/Encoder/Video/Hardware", 0},       {"x264enc", "Codec/Encoder/Video", 256},
};

// Every family's mapping sets only properties its 1.22 element has.
TEST(HardwareMapping, EveryFamilyMapsOnlyToDocumentedProperties) {
  for (const auto& [factory, props] : documented_properties()) {
    EXPECT_EQ(check_mapped_properties(factory, props), "") << factory;
    EXPECT_FALSE(mapped_property_names(factory).empty()) << factory;
  }
  // The old NVENC mapping (zerolatency) against the 1.22 nvautogpuh264enc is refused, naming both.
  std::vector<std::string> without = kNvEncoder122;
  without.erase(std::find(without.begin(), without.end(), "zero-reorder-delay"));
  without.push_back("zerolatency");
  EXPECT_EQ(check_mapped_properties("nvautogpuh264enc", without),
            "the nvenc mapping sets property \"zero-reorder-delay\", which nvautogpuh264enc does not have");
  // and the legacy element does not have the new name.
  EXPECT_EQ(encoder_family("nvh264enc"), "nvenc-legacy");
  EXPECT_EQ(encoder_family("nvh264device1enc"), "nvenc-legacy");
  EXPECT_EQ(encoder_family("nvcudah264enc"), "nvenc");
  const auto legacy = mapped_property_names("nvh264enc");
  EXPECT_NE(std::find(legacy.begin(), legacy.end(), "zerolatency"), legacy.end());
  EXPECT_EQ(std::find(legacy.begin(), legacy.end(), "zero-reorder-delay"), legacy.end());
}

// The mapped names are in the installed 1.22 plugin binaries (as NUL-terminated strings; a name may
// share its bytes with a longer one ending the same way, so "bitrate" is found in "max-bitrate").
TEST(HardwareMapping, MappedNamesArePresentInTheInstalled122Plugins) {
  const std::string dir = "/usr/lib/x86_64-linux-gnu/gstreamer-1.0/";
  const std::map<std::string, std::string> plugin_of = {{"nvautogpuh264enc", "libgstnvcodec.so"},
                                                        {"nvh264enc", "libgstnvcodec.so"},
                                                        {"vah264enc", "libgstva.so"},
                                                        {"vah265enc", "libgstva.so"},
                                                        {"qsvh264enc", "libgstqsv.so"}};
  for (const auto& [factory, file] : plugin_of) {
    std::ifstream in(dir + file, std::ios::binary);
    ASSERT_TRUE(in.good()) << dir + file << " (gstreamer1.0-plugins-bad)";
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string data = bytes.str();
    for (const auto& name : mapped_property_names(factory))
      EXPECT_NE(data.find(name + std::string(1, '\0')), std::string::npos) << factory << ": " << name << " in " << file;
  }
}

TEST(HardwareSelect, FirstHardwareEncoderWithItsDocumentedPropertiesWins) {
  std::vector<std::string> tried;
  auto c = select_encoder(VideoCodec::h264, kHwH264, all_pass(&tried), {}, fake_properties(documented_properties()));
  EXPECT_EQ(c.element, "nvautogpuh264enc") << c.reason;
  EXPECT_EQ(c.family, "nvenc");
  PlaceholderChoices pc;
  pc.encoders[VideoCodec::h264] = c;
  EXPECT_EQ(expand_placeholders("a ! @h264enc bitrate=1500 gop=30 tune=latency preset=fastest ! b", pc),
            "a ! nvautogpuh264enc bitrate=1500 gop-size=30 preset=low-latency-hp zero-reorder-delay=true ! b");
}

TEST(HardwareSelect, AnElementWithoutAMappedPropertyIsRefusedNamingIt) {
  auto lists = documented_properties();
  auto& nv = lists["nvautogpuh264enc"];
  nv.erase(std::find(nv.begin(), nv.end(), "zero-reorder-delay"));  // as if the element were older
  std::vector<std::string> tried;
  auto c = select_encoder(VideoCodec::h264, kHwH264, all_pass(&tried), {}, fake_properties(lists));
  EXPECT_EQ(c.element, "nvh264enc");
  EXPECT_EQ(c.family, "nvenc-legacy");
  ASSERT_FALSE(c.rejected.empty());
  EXPECT_EQ(c.rejected[0],
            "nvautogpuh264enc: the nvenc mapping sets property \"zero-reorder-delay\", which nvautogpuh264enc does "
            "not have");
  EXPECT_EQ(tried, std::vector<std::string>{"nvh264enc"});  // no test encode for the refused one
}

TEST(HardwareSelect, PreferAndExclude) {
  std::vector<std::string> tried;
  SelectionOptions o;
  o.prefer = {"qsvh264enc", "nosuchenc"};
  o.exclude = {"nvautogpuh264enc"};
  auto order = candidate_order(VideoCodec::h264, kHwH264, o);
  EXPECT_EQ(order, (std::vector<std::string>{"qsvh264enc", "nvh264enc", "vah264lpenc", "vah264enc", "x264enc"}));
  auto c = select_encoder(VideoCodec::h264, kHwH264, all_pass(&tried), o, fake_properties(documented_properties()));
  EXPECT_EQ(c.element, "qsvh264enc");
  EXPECT_NE(c.reason.find("named in [encoders] prefer"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find("excluded: nvautogpuh264enc"), std::string::npos) << c.reason;
  PlaceholderChoices pc;
  pc.encoders[VideoCodec::h264] = c;
  EXPECT_EQ(expand_placeholders("@h264enc bitrate=800 gop=60 tune=latency", pc),
            "qsvh264enc bitrate=800 gop-size=60 low-latency=true b-frames=0");
  // exclude everything hardware: x264enc
  o.prefer.clear();
  o.exclude = {"nvautogpuh264enc", "nvh264enc", "vah264lpenc", "vah264enc", "qsvh264enc"};
  EXPECT_EQ(select_encoder(VideoCodec::h264, kHwH264, all_pass(&tried), o).element, "x264enc");
}

TEST(HardwareSelect, DeviceMovesEachFamilyToItsPerDeviceElement) {
  EXPECT_EQ(check_device(""), "");
  EXPECT_EQ(check_device("1"), "");
  EXPECT_EQ(check_device("/dev/dri/renderD129"), "");
  EXPECT_NE(check_device("gpu1"), "");
  EXPECT_EQ(factory_on_device("nvh264enc", "1"), "nvh264device1enc");
  EXPECT_EQ(factory_on_device("nvh264enc", "0"), "nvh264enc");
  EXPECT_EQ(factory_on_device("nvh264dec", "2"), "nvh264device2dec");
  EXPECT_EQ(factory_on_device("nvautogpuh264enc", "1"), "nvautogpuh264enc");
  EXPECT_EQ(device_properties("nvautogpuh264enc", "1"), (Props{{"cuda-device-id", "1"}}));
  EXPECT_EQ(factory_on_device("vah264enc", "1"), "");  // VA needs a render node
  EXPECT_EQ(factory_on_device("vah264enc", "/dev/dri/renderD129"), "varenderD129h264enc");
  EXPECT_EQ(factory_on_device("vah264dec", "/dev/dri/renderD128"), "vah264dec");
  EXPECT_EQ(factory_on_device("nvh264enc", "/dev/dri/renderD129"), "");
  EXPECT_EQ(factory_on_device("x264enc", "/dev/dri/renderD129"), "x264enc");

  // CUDA device 1: nvautogpu gets cuda-device-id=1 (tested with it, expanded with it).
  std::vector<std::string> tried;
  SelectionOptions o;
  o.device = "1";
  auto c = select_encoder(VideoCodec::h264, kHwH264, all_pass(&tried), o, fake_properties(documented_properties()));
  EXPECT_EQ(c.element, "nvautogpuh264enc") << c.reason;
  EXPECT_EQ(tried, std::vector<std::string>{"nvautogpuh264enc cuda-device-id=1"});
  PlaceholderChoices pc;
  pc.encoders[VideoCodec::h264] = c;
  EXPECT_EQ(expand_placeholders("@h264enc bitrate=800", pc), "nvautogpuh264enc cuda-device-id=1 bitrate=800");
  // Without nvautogpu, the legacy encoder needs its per-device name registered.
  std::vector<EncoderFactoryInfo> reg = {{"nvh264enc", "Codec/Encoder/Video/Hardware", 257},
                                         {"vah264enc", "Codec/Encoder/Video/Hardware", 0},
                                         {"x264enc", "Codec/Encoder/Video", 256}};
  tried.clear();
  c = select_encoder(VideoCodec::h264, reg, all_pass(&tried), o, fake_properties(documented_properties()));
  EXPECT_EQ(c.element, "x264enc");
  EXPECT_NE(c.reason.find("nvh264enc: no nvh264device1enc registered for device 1"), std::string::npos) << c.reason;
  EXPECT_NE(c.reason.find("vah264enc: cannot use device 1"), std::string::npos) << c.reason;
  reg.push_back({"nvh264device1enc", "Codec/Encoder/Video/Hardware", 256});
  EXPECT_EQ(
      select_encoder(VideoCodec::h264, reg, all_pass(&tried), o, fake_properties(documented_properties())).element,
      "nvh264device1enc");
  // A second VA render node.
  reg.push_back({"varenderD129h264enc", "Codec/Encoder/Video/Hardware", 0});
  o.device = "/dev/dri/renderD129";
  EXPECT_EQ(
      select_encoder(VideoCodec::h264, reg, all_pass(&tried), o, fake_properties(documented_properties())).element,
      "varenderD129h264enc");
}

TestDecodeFn decode_fails_for(std::set<std::string> failing) {
  return [failing](const std::string& f, std::string* e) {
    if (failing.count(f)) {
      *e = "no device";
      return false;
    }
    return true;
  };
}

TEST(HardwareSelect, DecoderPreferenceNvdecVaThenLibav) {
  const std::vector<std::string> all = {"nvh264dec", "vah264dec", "avdec_h264", "nvh265dec", "avdec_h265"};
  auto d = select_decoder(VideoCodec::h264, all, decode_fails_for({}));
  EXPECT_EQ(d.element, "nvh264dec");
  EXPECT_EQ(d.family, "nvdec");
  d = select_decoder(VideoCodec::h264, all, decode_fails_for({"nvh264dec"}));
  EXPECT_EQ(d.element, "vah264dec");
  EXPECT_EQ(d.family, "va");
  EXPECT_NE(d.reason.find("nvh264dec: test decode failed (no device)"), std::string::npos) << d.reason;
  d = select_decoder(VideoCodec::h265, all, decode_fails_for({"nvh265dec"}));
  EXPECT_EQ(d.element, "avdec_h265");
  EXPECT_EQ(d.family, "software");
  EXPECT_NE(d.reason.find("not registered: vah265dec"), std::string::npos) << d.reason;
  SelectionOptions o;
  o.exclude = {"nvh264dec"};
  EXPECT_EQ(select_decoder(VideoCodec::h264, all, decode_fails_for({}), o).element, "vah264dec");
  o.exclude.clear();
  o.prefer = {"avdec_h264", "x264enc"};  // prefer lists may name encoders too; only decoders count here
  EXPECT_EQ(select_decoder(VideoCodec::h264, all, decode_fails_for({}), o).element, "avdec_h264");
  o.prefer.clear();
  o.device = "1";
  d = select_decoder(VideoCodec::h264, all, decode_fails_for({}), o);
  EXPECT_EQ(d.element, "avdec_h264");
  EXPECT_NE(d.reason.find("nvh264device1dec: not registered"), std::string::npos) << d.reason;
  d = select_decoder(VideoCodec::h264, {"nvh264dec", "nvh264device1dec", "avdec_h264"}, decode_fails_for({}), o);
  EXPECT_EQ(d.element, "nvh264device1dec");
}

// Frames stay in GPU memory between decode, scale and encode where the families allow.
TEST(HardwareSelect, ScaleKeepsFramesInGpuMemory) {
  const std::string ladder =
      "src.video ! queue ! h264parse ! @h264dec ! tee name=t t. ! queue ! @scale width=854 "
      "height=480 ! @h264enc bitrate=800 gop=30 ! h264parse ! r.";
  PlaceholderChoices pc;
  pc.decoders[VideoCodec::h264] = {VideoCodec::h264, "nvh264dec", "nvdec", "", {}};
  pc.encoders[VideoCodec::h264].element = "nvautogpuh264enc";
  pc.encoders[VideoCodec::h264].family = "nvenc";
  EXPECT_EQ(expand_placeholders(ladder, pc),
            "src.video ! queue ! h264parse ! nvh264dec ! tee name=t t. ! queue ! cudaconvertscale ! "
            "video/x-raw(memory:CUDAMemory),width=854,height=480 ! nvautogpuh264enc bitrate=800 gop-size=30 ! "
            "h264parse ! r.");
  // NVDEC without NVENC (an H100): scale on the GPU, download once for x264.
  pc.encoders[VideoCodec::h264].element = "x264enc";
  pc.encoders[VideoCodec::h264].family = "x264";
  pc.device = "1";
  EXPECT_NE(expand_placeholders(ladder, pc)
                .find("nvh264dec ! tee name=t t. ! queue ! cudaconvertscale cuda-device-id=1 ! "
                      "video/x-raw(memory:CUDAMemory),width=854,height=480 ! cudadownload cuda-device-id=1 ! "
                      "videoconvert ! x264enc bitrate=800 key-int-max=30 ! h264parse"),
            std::string::npos)
      << expand_placeholders(ladder, pc);
  pc.device.clear();
  // VA to VA: VAMemory.
  pc.decoders[VideoCodec::h264] = {VideoCodec::h264, "vah264dec", "va", "", {}};
  pc.encoders[VideoCodec::h264].element = "vah264enc";
  pc.encoders[VideoCodec::h264].family = "va";
  EXPECT_NE(expand_placeholders(ladder, pc)
                .find("vah264dec ! tee name=t t. ! queue ! vapostproc ! video/x-raw(memory:VAMemory),width=854,"
                      "height=480 ! vah264enc bitrate=800 key-int-max=30"),
            std::string::npos)
      << expand_placeholders(ladder, pc);
  // Software decode to NVENC: one upload, scaled on the GPU.
  pc.decoders[VideoCodec::h264] = {VideoCodec::h264, "avdec_h264", "software", "", {}};
  pc.encoders[VideoCodec::h264].element = "nvautogpuh264enc";
  pc.encoders[VideoCodec::h264].family = "nvenc";
  EXPECT_NE(expand_placeholders(ladder, pc)
                .find("avdec_h264 ! tee name=t t. ! queue ! cudaupload ! cudaconvertscale ! "
                      "video/x-raw(memory:CUDAMemory),width=854,height=480 ! nvautogpuh264enc"),
            std::string::npos);
  // All software.
  pc.encoders[VideoCodec::h264].element = "x264enc";
  pc.encoders[VideoCodec::h264].family = "x264";
  EXPECT_NE(expand_placeholders(ladder, pc)
                .find("avdec_h264 ! tee name=t t. ! queue ! videoscale ! video/x-raw,width=854,height=480 ! "
                      "videoconvert ! x264enc"),
            std::string::npos);
  EXPECT_EQ(expand_placeholders("a ! @scale width=2 ! b", pc), "a ! scale-needs-width-and-height ! b");
  EXPECT_EQ(expand_placeholders("a ! @h265dec ! b", pc), "a ! no-working-h265-decoder ! b");
  EXPECT_TRUE(has_placeholder("x ! @scale width=1 height=1"));
  EXPECT_TRUE(has_placeholder("x ! @h264dec"));
  EXPECT_FALSE(has_placeholder("x ! a@h264dec"));
}

class RealHardwareRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  }
};

// This machine has no GPU: the software elements, checked with the real property lists.
TEST_F(RealHardwareRegistry, ResolvesToSoftwareHereAndTheLadderParses) {
  PropertyListFn real = [](const std::string& f, std::vector<std::string>* names) {
    auto p = element_property_names(f);
    if (!p) return false;
    *names = *p;
    return true;
  };
  auto enc = select_encoder(
      VideoCodec::h264, list_gst_encoders(VideoCodec::h264),
      [](const std::string& f, std::string* e) { return gst_test_encode(f, e); }, {}, real);
  EXPECT_EQ(enc.element, "x264enc") << enc.reason;
  auto dec =
      select_decoder(VideoCodec::h264, list_gst_decoders(VideoCodec::h264),
                     [](const std::string& f, std::string* e) { return gst_test_decode(VideoCodec::h264, f, e); });
  EXPECT_EQ(dec.element, "avdec_h264") << dec.reason;
  auto dec5 =
      select_decoder(VideoCodec::h265, list_gst_decoders(VideoCodec::h265),
                     [](const std::string& f, std::string* e) { return gst_test_decode(VideoCodec::h265, f, e); });
  EXPECT_EQ(dec5.element, "avdec_h265") << dec5.reason;
  PlaceholderChoices pc;
  pc.encoders[VideoCodec::h264] = enc;
  pc.decoders[VideoCodec::h264] = dec;
  std::string launch = expand_placeholders(
      "videotestsrc num-buffers=10 ! video/x-raw,width=320,height=240 ! x264enc ! h264parse ! @h264dec ! "
      "@scale width=160 height=120 ! @h264enc bitrate=300 gop=15 tune=latency preset=fastest ! h264parse ! fakesink",
      pc);
  GError* err = nullptr;
  GstElement* p = gst_parse_launch_full(launch.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  ASSERT_EQ(err, nullptr) << err->message << "\n" << launch;
  gst_object_unref(p);
}

}  // namespace
