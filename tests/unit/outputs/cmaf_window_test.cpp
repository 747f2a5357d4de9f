// Owns: unit tests of the CMAF window and its renderings: LL-HLS media playlists (server control,
// part lists of the newest segments, preload hint, program date time), delta playlists that skip
// what CAN-SKIP-UNTIL allows, discontinuities with a new EXT-X-MAP, plain fMP4 playlists, where a
// blocking request stands (ready / wait / too far), LL-HLS directive parsing and the DASH MPD (each
// track's measured bandwidth), rendition reports of one track's playlist.
#include <gtest/gtest.h>

#include <regex>

#include "pipelines/cmaf_writer.h"
#include "server/outputs/hls/cmaf_http.h"
#include "server/outputs/hls/cmaf_window.h"
#include "server/outputs/hls/dash_mpd.h"
#include "server/outputs/hls/hls_playlist.h"
#include "server/outputs/hls/hls_sessions.h"

using namespace estuary;
using namespace estuary::server;

namespace {

Ref<GBytes> bytes(size_t n) {
  std::string s(n, 'x');
  return Ref<GBytes>::adopt(g_bytes_new(s.data(), s.size()));
}

constexpr gint64 kNow = 1'800'000'000'000'000;  // 2027-01-15

// Adds `segments` whole segments of ten 0.2 s parts (and `open_parts` of an unfinished one).
void feed(CmafWindow& w, int segments, int open_parts = 0, int64_t* media_ns = nullptr) {
  int64_t local = 10'000'000'000;
  int64_t& t = media_ns ? *media_ns : local;
  for (int s = 0; s < segments; ++s)
    for (uint32_t p = 0; p < 10; ++p) {
      w.add_part(p, t, 200'000'000, p == 0, p == 9, bytes(100), kNow + (t + 200'000'000) / 1000);
      t += 200'000'000;
    }
  for (int p = 0; p < open_parts; ++p) {
    w.add_part(uint32_t(p), t, 200'000'000, p == 0, false, bytes(100), kNow + (t + 200'000'000) / 1000);
    t += 200'000'000;
  }
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

CmafWindow make(bool ll = true) {
  CmafWindowSettings s;
  s.window = 10;
  s.low_latency = ll;
  CmafWindow w("t", s);
  w.set_init(bytes(50), "avc1.64001f,mp4a.40.2", 640, 360);
  return w;
}

}  // namespace

TEST(CmafWindow, LowLatencyPlaylist) {
  CmafWindow w = make();
  feed(w, 12, 3);
  const std::string m3u8 = w.render_hls(false);
  EXPECT_NE(m3u8.find("#EXT-X-VERSION:9\n"), std::string::npos);
  EXPECT_NE(m3u8.find("#EXT-X-TARGETDURATION:2\n"), std::string::npos);
  EXPECT_NE(m3u8.find("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,CAN-SKIP-UNTIL=12.0\n"),
            std::string::npos);
  EXPECT_NE(m3u8.find("#EXT-X-PART-INF:PART-TARGET=0.200\n"), std::string::npos);
  EXPECT_NE(m3u8.find("#EXT-X-MEDIA-SEQUENCE:2\n"), std::string::npos) << "12 complete, window 10";
  EXPECT_NE(m3u8.find("#EXT-X-MAP:URI=\"t-0-init.mp4\"\n"), std::string::npos);
  EXPECT_EQ(count(m3u8, "#EXTINF:2.00000,"), 10);
  EXPECT_EQ(count(m3u8, "#EXT-X-PROGRAM-DATE-TIME:"), 11);
  // Parts: the segments of the last three target durations plus the open one's three parts.
  EXPECT_EQ(count(m3u8, "#EXT-X-PART:"), 3 * 10 + 3);
  EXPECT_NE(m3u8.find("#EXT-X-PART:DURATION=0.20000,URI=\"t-12.0.m4s\",INDEPENDENT=YES\n"), std::string::npos);
  EXPECT_NE(m3u8.find("#EXT-X-PART:DURATION=0.20000,URI=\"t-12.2.m4s\"\n"), std::string::npos);
  EXPECT_NE(m3u8.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"t-12.3.m4s\"\n"), std::string::npos);
  EXPECT_EQ(m3u8.find("t-12.m4s"), std::string::npos) << "the open segment has no EXTINF yet";
  // Program date time follows media time: segment 2 starts 4 s after the first segment's media time.
  EXPECT_NE(m3u8.find("#EXT-X-PROGRAM-DATE-TIME:" + iso8601_utc(kNow + 14'000'000)), std::string::npos) << m3u8;
  EXPECT_EQ(iso8601_utc(1'800'000'000'123'456), "2027-01-15T08:00:00.123Z");
}

TEST(CmafWindow, PartHoldBackIsConfigurableButNeverUnderTwoParts) {
  CmafWindowSettings s;
  s.part_hold_back_s = 1.0;
  EXPECT_DOUBLE_EQ(CmafWindow("t", s).part_hold_back_s(), 1.0);
  s.part_hold_back_s = 0.3;  // under two 200 ms parts: raised to two (RFC 8216bis)
  EXPECT_DOUBLE_EQ(CmafWindow("t", s).part_hold_back_s(), 0.4);
  s.part_hold_back_s = 0;  // the default: three parts
  EXPECT_DOUBLE_EQ(CmafWindow("t", s).part_hold_back_s(), 0.6);
  s.part_hold_back_s = 1.0;
  CmafWindow w("t", s);
  w.set_init(bytes(50), "avc1.64001f,mp4a.40.2", 640, 360);
  feed(w, 2, 1);
  EXPECT_NE(w.render_hls(false).find(",PART-HOLD-BACK=1.000,"), std::string::npos);
}

TEST(CmafWindow, DeltaPlaylistSkipsOnlyBeyondCanSkipUntil) {
  CmafWindow w = make();
  feed(w, 12);
  const std::string full = w.render_hls(false);
  const std::string delta = w.render_hls(true);
  // Ten 2 s segments; those with at least 12 s after them may be skipped: the first four.
  EXPECT_NE(delta.find("#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n"), std::string::npos) << delta;
  EXPECT_EQ(count(delta, "#EXTINF:"), 6);
  EXPECT_EQ(delta.find("t-5.m4s"), std::string::npos);
  EXPECT_NE(delta.find("t-6.m4s"), std::string::npos);
  EXPECT_NE(delta.find("#EXT-X-MEDIA-SEQUENCE:2\n"), std::string::npos) << "the sequence still counts skipped ones";
  EXPECT_EQ(full.find("#EXT-X-SKIP"), std::string::npos);
}

TEST(CmafWindow, Availability) {
  CmafWindow w = make();
  feed(w, 3, 2);  // segments 0..2 whole, segment 3 has parts 0 and 1
  EXPECT_EQ(w.next_part(), std::make_pair(uint64_t(3), uint32_t(2)));
  EXPECT_EQ(w.availability(2, -1), CmafAvailability::ready);
  EXPECT_EQ(w.availability(3, 1), CmafAvailability::ready);
  EXPECT_EQ(w.availability(3, 2), CmafAvailability::wait);
  EXPECT_EQ(w.availability(3, -1), CmafAvailability::wait) << "segment 3 is not whole yet";
  EXPECT_EQ(w.availability(5, 0), CmafAvailability::wait);
  EXPECT_EQ(w.availability(6, 0), CmafAvailability::too_far);
  EXPECT_EQ(w.availability(999999999999999ULL, -1), CmafAvailability::too_far);
  EXPECT_EQ(w.availability(4, 100000), CmafAvailability::too_far);
  ASSERT_NE(w.part(3, 1), nullptr);
  EXPECT_EQ(w.part(3, 2), nullptr);
  ASSERT_NE(w.segment(2), nullptr);
  EXPECT_EQ(g_bytes_get_size(w.segment(2)->data.get()), 1000u) << "a segment is its parts' bytes";
  EXPECT_EQ(w.segment(3), nullptr);
}

TEST(CmafWindow, RenditionReportsNameTheLastPart) {
  CmafWindow w = make();
  EXPECT_EQ(w.rendition_report("x.m3u8"), "") << "nothing made yet";
  feed(w, 3);
  EXPECT_EQ(w.rendition_report("x.m3u8"), "#EXT-X-RENDITION-REPORT:URI=\"x.m3u8\",LAST-MSN=2,LAST-PART=9\n");
  feed(w, 0, 2);
  EXPECT_EQ(w.rendition_report("/a/x.m3u8"), "#EXT-X-RENDITION-REPORT:URI=\"/a/x.m3u8\",LAST-MSN=3,LAST-PART=1\n");
  const std::string m3u8 = w.render_hls(false, w.rendition_report("x.m3u8"));
  EXPECT_NE(m3u8.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"t-3.2.m4s\"\n#EXT-X-RENDITION-REPORT:URI=\"x.m3u8\""),
            std::string::npos)
      << m3u8;
}

TEST(CmafWindow, RestartGivesDiscontinuityAndNewMap) {
  CmafWindow w = make();
  feed(w, 2, 4);
  w.set_init(bytes(60), "avc1.64001f", 640, 360);  // new publish: the open segment is dropped
  int64_t t = 10'000'000'000;
  feed(w, 1, 0, &t);
  const std::string m3u8 = w.render_hls(false);
  EXPECT_NE(m3u8.find("t-1.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"t-1-init.mp4\"\n"), std::string::npos) << m3u8;
  EXPECT_NE(m3u8.find("t-2.m4s"), std::string::npos) << "the sequence continues";
  EXPECT_NE(w.init(0), nullptr);
  EXPECT_NE(w.init(1), nullptr);
}

// The wall clock of media time 0 is the earliest one the parts imply: a first part made late (the
// start's cached GOP, a slow first mux) does not leave the playlist's dates and the MPD's
// availabilityStartTime late for good; later, slower parts do not move it back.
TEST(CmafWindow, WallOriginIsTheEarliestAPartImplies) {
  CmafWindow w = make();
  const int64_t part = 200'000'000;
  w.add_part(0, 0, part, true, false, bytes(100), kNow + 900'000);  // made 0.7 s after its media ended
  EXPECT_EQ(w.wall_origin_us(), kNow + 700'000);
  w.add_part(1, part, part, false, false, bytes(100), kNow + 450'000);  // 0.05 s after
  EXPECT_EQ(w.wall_origin_us(), kNow + 50'000);
  EXPECT_NE(w.render_hls(false).find("#EXT-X-PROGRAM-DATE-TIME:" + iso8601_utc(kNow + 50'000)), std::string::npos)
      << w.render_hls(false);
  w.add_part(2, 2 * part, part, false, false, bytes(100), kNow + 1'000'000);  // 0.4 s after: no change
  EXPECT_EQ(w.wall_origin_us(), kNow + 50'000);
}

TEST(CmafWindow, GapUnderTheSamePublisherTagsTheNextSegmentOnly) {
  CmafWindow w = make();
  int64_t t = 10'000'000'000;
  feed(w, 2, 4, &t);  // segment 2 is open: it holds what came before the gap
  w.mark_discontinuity();
  for (uint32_t p = 4; p < 10; ++p, t += 200'000'000)  // segment 2 completes (the new reader's first keyframe)
    w.add_part(p, t, 200'000'000, false, p == 9, bytes(100), kNow + t / 1000);
  feed(w, 2, 0, &t);
  const std::string m3u8 = w.render_hls(false);
  EXPECT_EQ(count(m3u8, "#EXT-X-DISCONTINUITY\n"), 1) << m3u8;
  EXPECT_NE(m3u8.find("t-2.m4s\n#EXT-X-DISCONTINUITY\n"), std::string::npos) << m3u8;
  EXPECT_EQ(m3u8.find("#EXT-X-MAP:URI=\"t-1-init.mp4\""), std::string::npos) << "the same init goes on";
  CmafWindow empty = make();
  empty.mark_discontinuity();  // nothing before: no tag
  feed(empty, 1);
  EXPECT_EQ(count(empty.render_hls(false), "#EXT-X-DISCONTINUITY\n"), 0);
}

TEST(HlsPlaylist, GapInsideTheCurrentSegmentTagsTheOneAfterIt) {
  HlsPlaylist p("t", 2, 10);
  p.add(bytes(10), 2.0);
  p.mark_discontinuity_after_current();  // the segment being made holds what came before the gap
  p.add(bytes(10), 1.2);
  p.add(bytes(10), 2.0);
  p.add(bytes(10), 2.0);
  const std::string m3u8 = p.render();
  EXPECT_EQ(count(m3u8, "#EXT-X-DISCONTINUITY\n"), 1) << m3u8;
  EXPECT_NE(m3u8.find("t-1.hls.ts\n#EXT-X-DISCONTINUITY\n"), std::string::npos) << m3u8;
}

TEST(CmafWindow, PlainFmp4PlaylistHasNoParts) {
  CmafWindow w = make(false);
  feed(w, 3, 2);
  const std::string m3u8 = w.render_hls(true);
  EXPECT_NE(m3u8.find("#EXT-X-VERSION:7\n"), std::string::npos);
  EXPECT_EQ(m3u8.find("#EXT-X-PART"), std::string::npos);
  EXPECT_EQ(m3u8.find("PRELOAD-HINT"), std::string::npos);
  EXPECT_EQ(m3u8.find("SERVER-CONTROL"), std::string::npos);
  EXPECT_EQ(m3u8.find("SKIP"), std::string::npos);
  EXPECT_EQ(count(m3u8, "#EXTINF:"), 3);
}

TEST(CmafDirectives, Parsing) {
  auto d = parse_hls_directives("_HLS_msn=12&_HLS_part=3&_HLS_skip=YES");
  EXPECT_EQ(d.error, "");
  EXPECT_TRUE(d.has_msn);
  EXPECT_EQ(d.msn, 12u);
  EXPECT_EQ(d.part, 3);
  EXPECT_TRUE(d.skip);
  EXPECT_FALSE(parse_hls_directives("_HLS_msn=-1").error.empty());
  EXPECT_FALSE(parse_hls_directives("_HLS_msn=abc").error.empty());
  EXPECT_FALSE(parse_hls_directives("_HLS_msn=99999999999999999999999").error.empty());
  EXPECT_FALSE(parse_hls_directives("_HLS_part=1").error.empty()) << "part without msn";
  EXPECT_FALSE(parse_hls_directives("_HLS_msn=1&_HLS_part=-2").error.empty());
  EXPECT_FALSE(parse_hls_directives("_HLS_skip=maybe").error.empty());
  EXPECT_FALSE(parse_hls_directives("token=abc").has_msn);
}

TEST(DashMpd, TracksAreSeparateAdaptationSetsWithTheirOwnNames) {
  CmafWindowSettings settings;
  settings.low_latency = false;
  CmafWindow w("t", settings);
  CmafTrack v, a;
  v.video = true;
  v.codec = "avc1.64001f";
  v.width = 1280;
  v.height = 720;
  v.init = bytes(40);
  a.codec = "mp4a.40.2";
  a.sample_rate = 44100;
  a.channels = 2;
  a.init = bytes(30);
  w.set_init(bytes(50), "avc1.64001f,mp4a.40.2", 1280, 720, {v, a});
  feed(w, 3, 2);
  const std::string mpd = render_mpd(w, kNow + 30'000'000);
  EXPECT_EQ(count(mpd, "<AdaptationSet"), 2) << mpd;
  EXPECT_NE(mpd.find("contentType=\"video\" mimeType=\"video/mp4\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("initialization=\"t-t1-0-init.mp4\" media=\"t-t1-$Number$.m4s\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("codecs=\"avc1.64001f\" bandwidth="), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("width=\"1280\" height=\"720\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("contentType=\"audio\" mimeType=\"audio/mp4\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("initialization=\"t-t2-0-init.mp4\" media=\"t-t2-$Number$.m4s\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("codecs=\"mp4a.40.2\" bandwidth=\"128000\" audioSamplingRate=\"44100\""), std::string::npos)
      << mpd;
  EXPECT_NE(mpd.find("audio_channel_configuration:2011\" value=\"2\""), std::string::npos) << mpd;
  EXPECT_EQ(mpd.find("avc1.64001f,mp4a.40.2"), std::string::npos) << "no muxed representation";
  EXPECT_EQ(count(mpd, "<S t="), 6) << "without low latency the open segment is not listed: " << mpd;
  EXPECT_EQ(w.tracks(0).size(), 2u);
  EXPECT_TRUE(w.tracks(1).empty());
}

// Two audio tracks (languages): one adaptation set each with its lang (RFC 5646), label and role;
// and the LL-HLS playlist of one track names that track's init segment, parts and segments.
TEST(DashMpd, SeveralAudioTracksEachWithLanguageAndOneTrackPlaylists) {
  CmafWindow w("t", CmafWindowSettings{});
  CmafTrack v, en, fr;
  v.video = true;
  v.codec = "avc1.64001f";
  en.codec = fr.codec = "mp4a.40.2";
  en.language = "eng";
  fr.language = "fra";
  w.set_init(bytes(50), "avc1.64001f,mp4a.40.2,mp4a.40.2", 1280, 720, {v, en, fr});
  feed(w, 3, 2);
  const std::string mpd = render_mpd(w, kNow + 30'000'000);
  EXPECT_EQ(count(mpd, "<AdaptationSet"), 3) << mpd;
  EXPECT_NE(mpd.find("<AdaptationSet id=\"1\" contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"en\" "
                     "segmentAlignment=\"true\" startWithSAP=\"1\">\n"
                     "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"main\"/>\n"
                     "      <Label>English</Label>\n"),
            std::string::npos)
      << mpd;
  EXPECT_NE(mpd.find("lang=\"fr\" segmentAlignment=\"true\" startWithSAP=\"1\">\n"
                     "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"alternate\"/>\n"
                     "      <Label>French</Label>\n"),
            std::string::npos)
      << mpd;
  EXPECT_NE(mpd.find("media=\"t-t3-$Number$.m4s\""), std::string::npos) << mpd;

  const std::string french = w.render_hls(false, "", 3);
  EXPECT_NE(french.find("#EXT-X-MAP:URI=\"t-t3-0-init.mp4\"\n"), std::string::npos) << french;
  EXPECT_NE(french.find("#EXT-X-PART:DURATION=0.20000,URI=\"t-t3-3.1.m4s\"\n"), std::string::npos) << french;
  EXPECT_NE(french.find("\nt-t3-2.m4s\n"), std::string::npos) << french;
  EXPECT_NE(french.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"t-t3-3.2.m4s\"\n"), std::string::npos) << french;
  EXPECT_EQ(french.find("\"t-3."), std::string::npos) << "no muxed names";
  const std::string muxed = w.render_hls(false);
  EXPECT_NE(muxed.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"t-3.2.m4s\"\n"), std::string::npos) << "cached apart";
}

// Real fragments of three tracks (video, two audio): each part one sample per track of
// video_bytes, en_bytes, fr_bytes.
void feed_tracks(CmafWindow& w, int segments, size_t video_bytes, size_t en_bytes, size_t fr_bytes) {
  namespace cmaf = pipelines::cmaf;
  int64_t t = 0;
  uint32_t sequence = 1;
  auto sample = [](size_t n, bool sync) {
    cmaf::FragmentSample s;
    s.duration = 1000;
    s.sync = sync;
    s.data = std::make_shared<const std::vector<uint8_t>>(n, uint8_t(7));
    return s;
  };
  for (int s = 0; s < segments; ++s)
    for (uint32_t p = 0; p < 10; ++p) {
      std::vector<cmaf::TrackRun> runs(3);
      for (uint32_t k = 0; k < 3; ++k) runs[k].track_id = k + 1;
      runs[0].samples.push_back(sample(video_bytes, p == 0));
      runs[1].samples.push_back(sample(en_bytes, true));
      runs[2].samples.push_back(sample(fr_bytes, true));
      const std::vector<uint8_t> frag = cmaf::write_fragment(sequence++, runs);
      w.add_part(p, t, 200'000'000, p == 0, p == 9, Ref<GBytes>::adopt(g_bytes_new(frag.data(), frag.size())),
                 kNow + (t + 200'000'000) / 1000);
      t += 200'000'000;
    }
}

// A low-latency window "t" of a publish with H.264 video and two AAC tracks.
CmafWindow two_audio_window() {
  CmafWindow w("t", CmafWindowSettings{});
  CmafTrack v, en, fr;
  v.video = true;
  v.codec = "avc1.64001f";
  en.codec = fr.codec = "mp4a.40.2";
  w.set_init(bytes(50), "avc1.64001f,mp4a.40.2,mp4a.40.2", 1280, 720, {v, en, fr});
  return w;
}

// DASH: each representation's bandwidth is its track's own peak rate as served alone, not the
// muxed one nor a fixed guess.
TEST(DashMpd, EachTrackHasItsMeasuredBandwidth) {
  CmafWindow w = two_audio_window();
  EXPECT_EQ(w.track_bandwidth(1), 0) << "nothing measured yet";
  feed_tracks(w, 2, 5000, 400, 800);  // 2 s segments: about 200, 16 and 32 kbit/s of samples
  const CmafSegmentEntry* seg = w.segment(1);
  ASSERT_NE(seg, nullptr);
  for (uint32_t k = 1; k <= 3; ++k) {
    Ref<GBytes> alone = cmaf_track_bytes(seg->data.get(), k);
    ASSERT_TRUE(alone);
    EXPECT_EQ(w.track_bandwidth(k), int(double(g_bytes_get_size(alone.get())) * 8 / 2.0) + 1) << "track " << k;
  }
  EXPECT_GT(w.track_bandwidth(1), 200000);
  EXPECT_LT(w.track_bandwidth(1), 210000);
  EXPECT_GT(w.track_bandwidth(2), 16000);
  EXPECT_LT(w.track_bandwidth(2), 21000);
  EXPECT_LT(w.track_bandwidth(1), w.bandwidth());
  EXPECT_EQ(w.track_bandwidth(4), 0) << "no such track";
  const std::string mpd = render_mpd(w, kNow + 30'000'000);
  EXPECT_NE(mpd.find("codecs=\"avc1.64001f\" bandwidth=\"" + std::to_string(w.track_bandwidth(1)) + "\""),
            std::string::npos)
      << mpd;
  EXPECT_NE(mpd.find("bandwidth=\"" + std::to_string(w.track_bandwidth(2)) + "\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("bandwidth=\"" + std::to_string(w.track_bandwidth(3)) + "\""), std::string::npos) << mpd;
  EXPECT_EQ(mpd.find("bandwidth=\"128000\""), std::string::npos) << mpd;
}

// LL-HLS: one track's playlist of a publish with several audio tracks reports the master's other
// renditions (the video variant and the other audio tracks, or the muxed variant without video).
TEST(CmafWindow, OneTrackPlaylistReportsTheOtherRenditions) {
  CmafWindow w = two_audio_window();
  feed(w, 3, 2);
  const std::string reports = w.track_rendition_reports("t.m3u8?token=x&", 3);
  EXPECT_EQ(reports,
            "#EXT-X-RENDITION-REPORT:URI=\"t.m3u8?token=x&track=video\",LAST-MSN=3,LAST-PART=1\n"
            "#EXT-X-RENDITION-REPORT:URI=\"t.m3u8?token=x&track=audio_0\",LAST-MSN=3,LAST-PART=1\n");
  const std::string french = w.render_hls(false, reports, 3);
  EXPECT_NE(french.find("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"t-t3-3.2.m4s\"\n" + reports), std::string::npos) << french;
  EXPECT_EQ(count(w.track_rendition_reports("t.m3u8?", 1), "#EXT-X-RENDITION-REPORT"), 2);
  EXPECT_NE(w.track_rendition_reports("t.m3u8?", 1).find("URI=\"t.m3u8?track=audio_1\""), std::string::npos);
  EXPECT_EQ(w.track_rendition_reports("t.m3u8?", 0), "") << "the muxed playlist is no rendition of the master";

  // Audio only: the master's variant is the muxed playlist.
  CmafWindow a("a", CmafWindowSettings{});
  const std::vector<CmafTrack> tracks = w.tracks(w.generation());  // video, en, fr
  a.set_init(bytes(50), "mp4a.40.2,mp4a.40.2", 0, 0, {tracks[1], tracks[2]});
  feed(a, 2, 1);
  EXPECT_EQ(a.track_rendition_reports("a.m3u8?", 1),
            "#EXT-X-RENDITION-REPORT:URI=\"a.m3u8?track=audio_1\",LAST-MSN=2,LAST-PART=0\n"
            "#EXT-X-RENDITION-REPORT:URI=\"a.m3u8?media=1\",LAST-MSN=2,LAST-PART=0\n");
  // One audio track: no master, no reports.
  CmafWindow one("o", CmafWindowSettings{});
  one.set_init(bytes(50), "avc1.64001f,mp4a.40.2", 1280, 720, {tracks[0], tracks[1]});
  feed(one, 2, 1);
  EXPECT_EQ(one.track_rendition_reports("o.m3u8?", 2), "");
}

TEST(DashMpd, DynamicWithTimelineOverTheSameSegments) {
  CmafWindow w = make();
  EXPECT_EQ(render_mpd(w, kNow), "") << "nothing to list yet";
  feed(w, 12, 1);
  const std::string mpd = render_mpd(w, kNow + 30'000'000);
  EXPECT_NE(mpd.find("type=\"dynamic\""), std::string::npos);
  EXPECT_NE(mpd.find("availabilityStartTime=\"" + iso8601_utc(kNow) + "\""), std::string::npos) << mpd;
  EXPECT_NE(mpd.find("initialization=\"t-0-init.mp4\" media=\"t-$Number$.m4s\" startNumber=\"2\""), std::string::npos)
      << mpd;
  EXPECT_EQ(count(mpd, "<S t="), 11) << "ten complete segments and the open one";
  EXPECT_NE(mpd.find("<S t=\"14000\" d=\"2000\"/>"), std::string::npos) << "media time of segment 2 in ms";
  EXPECT_NE(mpd.find("<S t=\"34000\" d=\"2000\"/>\n        </SegmentTimeline>"), std::string::npos)
      << "the open segment last, with the target duration: " << mpd;
  EXPECT_NE(mpd.find("codecs=\"avc1.64001f,mp4a.40.2\""), std::string::npos);
  EXPECT_NE(mpd.find("width=\"640\" height=\"360\""), std::string::npos);
  EXPECT_NE(mpd.find("urn:mpeg:dash:utc:direct:2014"), std::string::npos);
  EXPECT_NE(mpd.find("availabilityTimeOffset=\"1.800\""), std::string::npos);
}

TEST(HlsSessions, StreamOfEveryFileName) {
  EXPECT_EQ(hls_stream_of(".m3u8", "cam-1"), "cam-1") << "a playlist names its stream whole";
  EXPECT_EQ(hls_stream_of(".mpd", "cam"), "cam");
  EXPECT_EQ(hls_stream_of(".hls.ts", "cam-12"), "cam");
  EXPECT_EQ(hls_stream_of(".hls.ts", "my-cam-12"), "my-cam");
  EXPECT_EQ(hls_stream_of(".m4s", "cam-12"), "cam");
  EXPECT_EQ(hls_stream_of(".m4s", "cam-12.3"), "cam");
  EXPECT_EQ(hls_stream_of(".m4s", "cam-t2-12"), "cam");
  EXPECT_EQ(hls_stream_of("-init.mp4", "cam-0"), "cam");
  EXPECT_EQ(hls_stream_of("-init.mp4", "cam-t1-0"), "cam");
  EXPECT_EQ(hls_stream_of(".m4s", "cam"), "cam") << "malformed names are left as they are (and 404)";
}
