// Owns: the Session's NetConnection / NetStream command handling (connect, createStream, publish,
// play, FCPublish/FCUnpublish, deleteStream, ...), the publish/play answers from the glue, and the
// app / stream-name / tcUrl parsing that turns commands into ConnectInfo and StreamRequest.
#include "server/protocols/rtmp/session.h"

#include "common/log.h"

namespace estuary::rtmp {

namespace {

Amf0Limits command_limits() {
  Amf0Limits l;
  l.max_depth = 16;
  l.max_elements = 4096;
  l.max_string_length = 16u << 10;
  return l;
}

std::string trim_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

const Amf0Value* arg(const std::vector<Amf0Value>& args, size_t i) { return i < args.size() ? &args[i] : nullptr; }

std::string arg_string(const std::vector<Amf0Value>& args, size_t i) {
  const Amf0Value* v = arg(args, i);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

// Enhanced RTMP: the FourCCs this server ingests, so clients (OBS, ffmpeg 6.1+) enable E-RTMP. v1 clients
// read fourCcList; v2 clients the info maps (FourCcInfoMask: 1 CanDecode, 2 CanEncode, 4 CanForward).
void add_enhanced_rtmp_caps(Amf0Value& props) {
  static constexpr const char* video[] = {"hvc1", "av01", "vp09", "avc1"};
  static constexpr const char* audio[] = {"Opus", "mp4a", ".mp3", "ac-3", "ec-3"};
  constexpr double can_forward = 4;
  Amf0Value list = Amf0Value::strict_array();
  Amf0Value video_map = Amf0Value::object();
  Amf0Value audio_map = Amf0Value::object();
  for (const char* cc : video) {
    list.push(Amf0Value::string(cc));
    video_map.set(cc, Amf0Value::number(can_forward));
  }
  for (const char* cc : audio) audio_map.set(cc, Amf0Value::number(can_forward));
  props.set("fourCcList", std::move(list));
  props.set("videoFourCcInfoMap", std::move(video_map));
  props.set("audioFourCcInfoMap", std::move(audio_map));
  props.set("capsEx", Amf0Value::number(4));  // ModEx (its nanosecond offsets are ignored); no multitrack
}

}  // namespace

std::pair<std::string, std::string> split_query(std::string_view s) {
  size_t q = s.find('?');
  if (q == std::string_view::npos) return {std::string(s), std::string()};
  return {std::string(s.substr(0, q)), std::string(s.substr(q + 1))};
}

std::string app_from_tc_url(std::string_view tc_url) {
  std::string_view s = tc_url;
  size_t q = s.find('?');
  if (q != std::string_view::npos) s = s.substr(0, q);
  size_t scheme = s.find("://");
  if (scheme != std::string_view::npos) {
    s = s.substr(scheme + 3);
    size_t slash = s.find('/');
    if (slash == std::string_view::npos) return std::string();
    s = s.substr(slash);
  }
  return trim_slashes(s);
}

Status Session::handle_command(const Message& m) {
  const uint8_t* p = m.payload.data();
  size_t n = m.payload.size();
  // AMF3 command messages start with a format byte; the values that follow are AMF0 here.
  if (m.type == msg::amf3_command && n > 0 && p[0] == 0) {
    p++;
    n--;
  }
  if (n > limits_.max_command_size) return Error{"rtmp: command message too large", ErrorReason::invalid, "rtmp"};
  Result<std::vector<Amf0Value>> decoded = amf0_decode_all(p, n, limits_.max_command_values, command_limits());
  if (!decoded.ok()) return Error{"rtmp: bad command: " + decoded.error().message, ErrorReason::invalid, "rtmp"};
  std::vector<Amf0Value>& args = *decoded;
  if (args.empty() || !args[0].is_string()) return Error{"rtmp: command without a name", ErrorReason::invalid, "rtmp"};
  const std::string& name = args[0].as_string();
  if (name.size() > limits_.max_command_name) return Error{"rtmp: command name too long", ErrorReason::invalid, "rtmp"};
  double txn = args.size() > 1 && args[1].is_number() ? args[1].as_number() : 0;

  if (name == "connect") return on_connect_command(txn, args);
  if (!connected_) return Error{"rtmp: command '" + name + "' before connect", ErrorReason::invalid, "rtmp"};

  if (name == "createStream") {
    // Always 1: the shared play byte stream is encoded for message stream 1.
    send_result(txn, Amf0Value::number(kPlayStreamId));
    return ok_status();
  }
  if (name == "releaseStream") {
    send_result(txn, Amf0Value::undefined());
    return ok_status();
  }
  if (name == "FCPublish") {
    // FMLE-style clients wait for _result, nginx-style ones for onFCPublish; both are harmless.
    if (txn > 0) send_result(txn, Amf0Value::undefined());
    Amf0Value info = Amf0Value::object();
    info.set("code", Amf0Value::string("NetStream.Publish.Start"));
    info.set("description", Amf0Value::string("FCPublish to stream " + arg_string(args, 3) + "."));
    send_command(csid::command, 0,
                 {Amf0Value::string("onFCPublish"), Amf0Value::number(0), Amf0Value::null(), std::move(info)});
    return ok_status();
  }
  if (name == "publish") return on_publish_command(txn, args, m.stream_id);
  if (name == "play") return on_play_command(txn, args, m.stream_id);
  if (name == "FCUnpublish") {
    on_stream_closed("FCUnpublish");
    Amf0Value info = Amf0Value::object();
    info.set("code", Amf0Value::string("NetStream.Unpublish.Success"));
    info.set("description", Amf0Value::string(arg_string(args, 3)));
    send_command(csid::command, 0,
                 {Amf0Value::string("onFCUnpublish"), Amf0Value::number(0), Amf0Value::null(), std::move(info)});
    if (txn > 0) send_result(txn, Amf0Value::undefined());
    return ok_status();
  }
  if (name == "deleteStream" || name == "closeStream") {
    on_stream_closed(name.c_str());
    return ok_status();
  }
  if (name == "getStreamLength") {
    send_result(txn, Amf0Value::number(0));
    return ok_status();
  }
  // Bandwidth checks, flow hints and replies to our own calls need no answer.
  if (name == "_checkbw" || name == "receiveAudio" || name == "receiveVideo" || name == "pause" || name == "seek" ||
      name == "_result" || name == "_error" || name == "onBWDone" || name == "onStatus" || name == "FCSubscribe" ||
      name == "FCUnsubscribe") {
    return ok_status();
  }
  if (txn > 0) {
    Amf0Value info = Amf0Value::object();
    info.set("level", Amf0Value::string("error"));
    info.set("code", Amf0Value::string("NetConnection.Call.Failed"));
    info.set("description", Amf0Value::string("Method not found (" + name + ")."));
    send_command(csid::command, 0,
                 {Amf0Value::string("_error"), Amf0Value::number(txn), Amf0Value::null(), std::move(info)});
  }
  log_debug(stream_label(), log_id_, "rtmp-command", "unhandled command " + name);
  return ok_status();
}

Status Session::on_connect_command(double txn, const std::vector<Amf0Value>& args) {
  if (connected_) return Error{"rtmp: second connect on one connection", ErrorReason::invalid, "rtmp"};
  const Amf0Value* obj = arg(args, 2);
  ConnectInfo info;
  std::string raw_app;
  if (obj != nullptr && obj->is_map()) {
    raw_app = obj->get_string("app");
    info.tc_url = obj->get_string("tcUrl");
    info.page_url = obj->get_string("pageUrl");
    info.swf_url = obj->get_string("swfUrl");
    info.flash_ver = obj->get_string("flashVer");
    info.object_encoding = obj->get_number("objectEncoding");
    if (const Amf0Value* list = obj->get("fourCcList"); list && list->type() == Amf0Type::strict_array) {
      for (const Amf0Value& cc : list->elements())
        if (cc.is_string() && info.four_cc_list.size() < 32) info.four_cc_list.push_back(cc.as_string());
    }
  }
  auto [app, app_query] = split_query(raw_app);
  info.app = trim_slashes(app);
  if (info.app.empty()) info.app = app_from_tc_url(info.tc_url);
  info.query = app_query.empty() ? split_query(info.tc_url).second : app_query;
  connect_ = info;
  connected_ = true;
  log_debug("", log_id_, "rtmp-connect", "app=" + info.app + " tcUrl=" + info.tc_url);
  delegate_.on_connect(connect_);

  append_window_ack_size(out_, limits_.window_ack_size, out_chunk_size_);
  append_set_peer_bandwidth(out_, limits_.window_ack_size, PeerBandwidthLimit::dynamic, out_chunk_size_);
  append_set_chunk_size(out_, limits_.out_chunk_size, out_chunk_size_);
  out_chunk_size_ = limits_.out_chunk_size;

  Amf0Value props = Amf0Value::object();
  props.set("fmsVer", Amf0Value::string("FMS/3,5,3,888"));
  props.set("capabilities", Amf0Value::number(127));
  props.set("mode", Amf0Value::number(1));
  add_enhanced_rtmp_caps(props);
  Amf0Value status = Amf0Value::object();
  status.set("level", Amf0Value::string("status"));
  status.set("code", Amf0Value::string("NetConnection.Connect.Success"));
  status.set("description", Amf0Value::string("Connection succeeded."));
  status.set("objectEncoding", Amf0Value::number(0));
  send_command(csid::command, 0,
               {Amf0Value::string("_result"), Amf0Value::number(txn), std::move(props), std::move(status)});
  return ok_status();
}

StreamRequest Session::make_request(std::string_view name) const {
  auto [stream, query] = split_query(name);
  StreamRequest r;
  r.app = connect_.app;
  r.stream = std::move(stream);
  r.query = query.empty() ? connect_.query : query;
  r.tc_url = connect_.tc_url;
  return r;
}

std::string Session::stream_label() const {
  return request_.stream.empty() ? std::string() : request_.app + "/" + request_.stream;
}

Status Session::on_publish_command(double txn, const std::vector<Amf0Value>& args, uint32_t stream_id) {
  if (state_ != StreamState::idle)
    return Error{"rtmp: publish while already publishing or playing", ErrorReason::invalid, "rtmp"};
  stream_msg_id_ = stream_id != 0 ? stream_id : kPlayStreamId;
  request_ = make_request(arg_string(args, 3));
  if (request_.stream.empty()) {
    send_status("error", "NetStream.Publish.BadName", "Empty stream name.");
    return Error{"rtmp: publish with an empty stream name", ErrorReason::invalid, "rtmp"};
  }
  state_ = StreamState::publish_pending;
  log_debug(stream_label(), log_id_, "rtmp-publish-request", "type=" + arg_string(args, 4));
  delegate_.on_publish_request(request_);
  return ok_status();
}

Status Session::on_play_command(double txn, const std::vector<Amf0Value>& args, uint32_t stream_id) {
  if (state_ != StreamState::idle)
    return Error{"rtmp: play while already publishing or playing", ErrorReason::invalid, "rtmp"};
  stream_msg_id_ = stream_id != 0 ? stream_id : kPlayStreamId;
  request_ = make_request(arg_string(args, 3));
  if (request_.stream.empty()) {
    send_status("error", "NetStream.Play.StreamNotFound", "Empty stream name.");
    return Error{"rtmp: play with an empty stream name", ErrorReason::invalid, "rtmp"};
  }
  state_ = StreamState::play_pending;
  log_debug(stream_label(), log_id_, "rtmp-play-request", "");
  delegate_.on_play_request(request_);
  return ok_status();
}

void Session::on_stream_closed(const char* why) {
  StreamState was = state_;
  if (was == StreamState::idle) return;
  state_ = StreamState::idle;
  log_debug(stream_label(), log_id_, "rtmp-stream-closed", why);
  if (was == StreamState::publishing) delegate_.on_unpublish();
  if (was == StreamState::playing) delegate_.on_play_stop();
}

bool Session::accept_publish() {
  if (state_ != StreamState::publish_pending) return false;
  state_ = StreamState::publishing;
  send_status("status", "NetStream.Publish.Start", "Started publishing stream.");
  return true;
}

bool Session::reject_publish(const std::string& code, const std::string& description) {
  if (state_ != StreamState::publish_pending) return false;
  state_ = StreamState::idle;
  send_status("error", code, description);
  return true;
}

bool Session::accept_play() {
  if (state_ != StreamState::play_pending) return false;
  state_ = StreamState::playing;
  append_user_control(out_, UserControlType::stream_begin, stream_msg_id_, out_chunk_size_);
  send_status("status", "NetStream.Play.Reset", "Playing and resetting stream.");
  send_status("status", "NetStream.Play.Start", "Started playing stream.");
  send_data(stream_msg_id_,
            {Amf0Value::string("|RtmpSampleAccess"), Amf0Value::boolean(true), Amf0Value::boolean(true)});
  // No onStatus(NetStream.Data.Start) data message: ffmpeg/ffplay expose it as an extra data track.
  return true;
}

bool Session::reject_play(const std::string& code, const std::string& description) {
  if (state_ != StreamState::play_pending) return false;
  state_ = StreamState::idle;
  send_status("error", code, description);
  return true;
}

void Session::notify_play_end() {
  if (state_ != StreamState::playing) return;
  append_user_control(out_, UserControlType::stream_eof, stream_msg_id_, out_chunk_size_);
  send_status("status", "NetStream.Play.UnpublishNotify", "Stream is now unpublished.");
}

}  // namespace estuary::rtmp
