// Owns: MPEG-DASH MPD rendering (see dash_mpd.h).
#include "server/outputs/hls/dash_mpd.h"

#include <cmath>
#include <cstdio>

#include "server/outputs/hls/hls_playlist.h"

namespace estuary::server {
namespace {

std::string duration(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "PT%.3fS", s);
  return buf;
}

}  // namespace

std::string render_mpd(const CmafWindow& w, gint64 now_us) {
  if (w.empty() || w.wall_origin_us() < 0) return "";
  // Only the current publish's segments: a new publish restarts media time (new period).
  std::vector<const CmafSegmentEntry*> segs;
  for (const auto& s : w.segments())
    if (s.complete && s.generation == w.generation()) segs.push_back(&s);
  if (segs.empty()) return "";
  const auto& st = w.settings();
  double shift = 0;
  for (const auto* s : segs) shift += s->duration_s;
  const bool ll = st.low_latency;
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  out += "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"dynamic\"";
  out += std::string(" profiles=\"urn:mpeg:dash:profile:isoff-live:2011") +
         (ll ? ",http://www.dashif.org/guidelines/low-latency-live-v5" : "") + "\"";
  out += " availabilityStartTime=\"" + iso8601_utc(w.wall_origin_us()) + "\"";
  out += " publishTime=\"" + iso8601_utc(now_us) + "\"";
  // The timeline lists a segment only once its first part is made, so a player learns of the next
  // one from an MPD update. Refreshed once a segment, the update could come up to a whole segment
  // late, every segment alike (the refresh keeps its phase): low-latency dash.js then stalled at each
  // segment start. In low latency the MPD is refreshed every two parts.
  out += " minimumUpdatePeriod=\"" + duration(ll ? 2 * st.part_target_s : st.target_duration_s) + "\"";
  out += " minBufferTime=\"" + duration(ll ? st.part_target_s * 3 : st.target_duration_s) + "\"";
  out += " timeShiftBufferDepth=\"" + duration(shift) + "\"";
  out += " maxSegmentDuration=\"" + duration(w.target_duration()) + "\"";
  // Low latency: three parts plus 1.2 s behind the live edge (1.8 s at 0.2 s parts; the segment being
  // made is fetched chunked, so the segment duration does not count). Closer, a busy machine stalls.
  const double ll_target_s = 3 * st.part_target_s + 1.2;
  out += " suggestedPresentationDelay=\"" + duration(ll ? ll_target_s : 3.0 * st.target_duration_s) + "\">\n";
  if (ll) {
    out += "  <ServiceDescription id=\"0\"><Latency target=\"" + std::to_string(std::lround(ll_target_s * 1000)) +
           "\" max=\"" + std::to_string(int(st.target_duration_s * 3000)) + "\" min=\"" +
           std::to_string(int(st.part_target_s * 2000)) + "\"/></ServiceDescription>\n";
  }
  out += "  <Period id=\"p" + std::to_string(w.generation()) + "\" start=\"PT0S\">\n";
  std::string timeline = "        <SegmentTimeline>\n";
  for (const auto* s : segs) {
    const long long t = s->media_time_ns / 1'000'000;
    const long long d = (s->media_time_ns + int64_t(s->duration_s * 1e9 + 0.5)) / 1'000'000 - t;
    timeline += "          <S t=\"" + std::to_string(t) + "\" d=\"" + std::to_string(d) + "\"/>\n";
  }
  // Low latency: the segment being made is listed too, with the target duration (its real one comes
  // with the next update), so a player at the live edge asks for it and gets it chunked as it is
  // made (availabilityTimeOffset) instead of waiting for it to be whole.
  const CmafSegmentEntry& last = w.segments().back();
  if (ll && !last.complete && last.generation == w.generation()) {
    timeline += "          <S t=\"" + std::to_string(last.media_time_ns / 1'000'000) + "\" d=\"" +
                std::to_string(st.target_duration_s * 1000) + "\"/>\n";
  }
  timeline += "        </SegmentTimeline>\n";
  // The segment template of an adaptation set: its names, and the low-latency offset.
  auto segment_template = [&](const std::string& init, const std::string& media) {
    std::string t = "      <SegmentTemplate timescale=\"1000\" initialization=\"" + init + "\" media=\"" + media +
                    "\" startNumber=\"" + std::to_string(segs.front()->msn) + "\"";
    if (ll) {
      char ato[32];
      std::snprintf(ato, sizeof ato, "%.3f", std::max(0.0, st.target_duration_s - st.part_target_s));
      t += std::string(" availabilityTimeOffset=\"") + ato + "\" availabilityTimeComplete=\"false\"";
    }
    return t + ">\n" + timeline + "      </SegmentTemplate>\n";
  };
  const auto& tracks = w.tracks(w.generation());
  if (tracks.empty()) {
    // Tracks unknown: the muxed segments as one representation.
    const bool video = w.width() > 0;
    out += std::string("    <AdaptationSet id=\"0\" mimeType=\"") + (video ? "video/mp4" : "audio/mp4") +
           "\" segmentAlignment=\"true\" startWithSAP=\"1\">\n";
    out += segment_template(w.init_name(w.generation()),
                            w.segment_name(0).substr(0, w.segment_name(0).size() - 5) + "$Number$.m4s");
    out += "      <Representation id=\"0\" codecs=\"" + w.codecs() + "\" bandwidth=\"" + std::to_string(w.bandwidth()) +
           "\"";
    if (video) out += " width=\"" + std::to_string(w.width()) + "\" height=\"" + std::to_string(w.height()) + "\"";
    out += "/>\n    </AdaptationSet>\n";
  }
  // One adaptation set per track (DASH-IF: one media component per representation), each served
  // from the same segments with the other tracks taken out. Several audio tracks (languages): each
  // with its lang and label, the first one's role main.
  size_t audio_sets = 0;
  for (const CmafTrack& t : tracks) audio_sets += t.video ? 0 : 1;
  size_t audio_index = 0;
  for (size_t i = 0; i < tracks.size(); ++i) {
    const CmafTrack& t = tracks[i];
    const uint32_t number = uint32_t(i + 1);
    const std::string id = std::to_string(i);
    const AudioRendition rendition = t.video ? AudioRendition{} : audio_rendition_of(t.language);
    out += "    <AdaptationSet id=\"" + id + "\" contentType=\"" + (t.video ? "video" : "audio") + "\" mimeType=\"" +
           (t.video ? "video/mp4" : "audio/mp4") + "\"" +
           (rendition.language.empty() ? "" : " lang=\"" + rendition.language + "\"") +
           " segmentAlignment=\"true\" startWithSAP=\"1\">\n";
    if (!t.video && audio_sets > 1) {
      out += "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"" +
             std::string(audio_index == 0 ? "main" : "alternate") + "\"/>\n";
      out += "      <Label>" + (rendition.name.empty() ? "audio_" + std::to_string(audio_index) : rendition.name) +
             "</Label>\n";
      ++audio_index;
    }
    out += segment_template(w.track_init_name(w.generation(), number), w.track_media_template(number));
    // The track's own peak rate as served alone; before a segment has been measured, the muxed
    // peak for video and a typical AAC rate for audio.
    const int measured = w.track_bandwidth(number);
    const int bandwidth = measured > 0 ? measured : t.video ? w.bandwidth() : 128000;
    out += "      <Representation id=\"" + std::string(t.video ? "video" : "audio") + id + "\" codecs=\"" + t.codec +
           "\" bandwidth=\"" + std::to_string(bandwidth) + "\"";
    if (t.video)
      out += " width=\"" + std::to_string(t.width) + "\" height=\"" + std::to_string(t.height) + "\"/>\n";
    else
      out += " audioSamplingRate=\"" + std::to_string(t.sample_rate) +
             "\">\n        <AudioChannelConfiguration "
             "schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" value=\"" +
             std::to_string(t.channels) + "\"/>\n      </Representation>\n";
    out += "    </AdaptationSet>\n";
  }
  out += "  </Period>\n";
  out += "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:direct:2014\" value=\"" + iso8601_utc(now_us) + "\"/>\n";
  out += "</MPD>\n";
  return out;
}

}  // namespace estuary::server
