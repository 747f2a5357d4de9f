// Owns: end-to-end tests of control features: HTTP callbacks (a real Python hook server), IP
// rules and limits, API authentication and the Prometheus endpoint. Real binary, real ffmpeg.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace estuary::e2e;
using namespace std::chrono_literals;

namespace {

// Records every POST as one JSON line {"path":..., "body":...} in RECORD; answers by path:
// /auth: 0 if the body's param has token=good, else 403; /notify: 0; /code1: 200 {"code":1};
// /slow: never answers in time.
const char* kHookServer = R"PY(
import json, sys, time, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
port, record = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        n = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(n).decode()
        with lock:
            with open(record, 'a') as f:
                f.write(json.dumps({'path': self.path, 'body': json.loads(body)}) + '\n')
        if self.path == '/slow':
            time.sleep(30)
            return
        status, text = 200, '0'
        if self.path == '/auth' and 'token=good' not in json.loads(body).get('param', ''):
            status, text = 403, 'denied'
        if self.path == '/code1':
            text = '{"code":1}'
        data = text.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
)PY";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct HookRecord {
  std::string path, action, app, stream, param, client_id;
};

std::vector<HookRecord> read_records(const std::string& path) {
  std::vector<HookRecord> out;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    JsonNode* root = parse_json(line);
    if (!root) continue;
    JsonObject* o = json_node_get_object(root);
    JsonObject* b = json_object_get_object_member(o, "body");
    auto s = [b](const char* k) {
      return std::string(json_object_has_member(b, k) ? json_object_get_string_member(b, k) : "");
    };
    out.push_back(
        {json_object_get_string_member(o, "path"), s("action"), s("app"), s("stream"), s("param"), s("client_id")});
    json_node_unref(root);
  }
  return out;
}

const HookRecord* find_record(const std::vector<HookRecord>& records, const std::string& action,
                              const std::string& stream, const std::string& param = "") {
  for (const auto& r : records)
    if (r.action == action && r.stream == stream && (param.empty() || r.param == param)) return &r;
  return nullptr;
}

std::string api_url(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.api_port()) + path;
}

Process start_player(const std::string& url, const std::string& log) {
  return Process({"ffmpeg", "-nostdin", "-loglevel", "error", "-rw_timeout", "5000000", "-i", url, "-c", "copy", "-f",
                  "null", "-"},
                 log);
}

class Hooks : public ::testing::Test {
 protected:
  void SetUp() override {
    hook_port = free_tcp_port();
    dir = make_temp_dir();
    record = dir + "/hooks.jsonl";
    write_file(dir + "/hook_server.py", kHookServer);
    hook_server = Process({"python3", dir + "/hook_server.py", std::to_string(hook_port), record}, dir + "/hook.log");
    const std::string base = "http://127.0.0.1:" + std::to_string(hook_port);
    write_file(dir + "/estuary.conf",
               "[hooks]\ntimeout_ms = 2000\n"
               "[hooks:live]\n"
               "on_publish = " +
                   base + "/auth\non_unpublish = " + base + "/notify\non_play = " + base + "/auth " + base +
                   "/notify\non_stop = " + base +
                   "/notify\n"
                   "[hooks:rec]\non_hls = " +
                   base + "/notify\non_dvr = " + base + "/notify\n" +
                   "[dvr]\nenabled = true\nmatch = rec/*\nformat = ts\nplan = segment\nsegment_s = 2\npath = " + dir +
                   "/dvr/[app]/[stream].[timestamp]\n" + "[hooks:slow]\non_publish = " + base +
                   "/slow\n[hooks:code1]\non_publish = " + base + "/code1\n");
    server = std::make_unique<Server>(std::map<std::string, std::string>{},
                                      std::vector<std::string>{"--config", dir + "/estuary.conf"});
    ASSERT_TRUE(server->start()) << server->log();
    // The hook server is up once it answers (connection refused before).
    ASSERT_TRUE(wait_until(
        [&] {
          return run({"curl", "-s", "-o", "/dev/null", "-X", "POST", "-d", "{}", base + "/notify"}, 5).exit_code == 0;
        },
        5000));
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "---- server log ----\n%s\n", server ? server->log().c_str() : "");
  }
  std::string pub_log(const std::string& name) { return server->dir() + "/" + name + ".log"; }
  int hook_port = 0;
  std::string dir, record;
  Process hook_server;
  std::unique_ptr<Server> server;
};

TEST_F(Hooks, GoodTokenAllowedOthersRefusedAndEventsReported) {
  Process pub = start_publisher(server->rtmp_url("live/a?token=good"), 320, 240, pub_log("pub-a"));
  ASSERT_TRUE(wait_for_stream(*server, "live/a", 10000));

  // Bad and missing tokens: the publisher is refused and ffmpeg gives up.
  Process bad = start_publisher(server->rtmp_url("live/b?token=bad"), 320, 240, pub_log("pub-b"));
  Process none = start_publisher(server->rtmp_url("live/c"), 320, 240, pub_log("pub-c"));
  EXPECT_NE(bad.wait(8000), -1) << "publisher with a bad token still running";
  EXPECT_NE(none.wait(8000), -1) << "publisher without a token still running";
  EXPECT_FALSE(wait_for_stream(*server, "live/b", 200));
  EXPECT_FALSE(wait_for_stream(*server, "live/c", 200));

  // Play: RTMP and HTTP-FLV with the good token work; bad or missing tokens are refused.
  EXPECT_FALSE(probe_streams(server->rtmp_url("live/a?token=good")).empty());
  EXPECT_TRUE(probe_streams(server->rtmp_url("live/a?token=bad"), 8).empty());
  EXPECT_FALSE(probe_streams(server->flv_url("live/a") + "?token=good").empty());
  std::string body;
  EXPECT_EQ(http_request("GET", server->flv_url("live/a") + "?token=bad", &body), 403);
  EXPECT_EQ(http_request("GET", server->flv_url("live/a"), &body), 403);

  pub.kill_now();
  ASSERT_TRUE(wait_until([&] { return find_record(read_records(record), "on_unpublish", "a") != nullptr; }, 8000));
  auto records = read_records(record);
  const HookRecord* publish = find_record(records, "on_publish", "a", "?token=good");
  ASSERT_NE(publish, nullptr);
  EXPECT_EQ(publish->app, "live");
  EXPECT_FALSE(publish->client_id.empty());
  const HookRecord* unpublish = find_record(records, "on_unpublish", "a");
  ASSERT_NE(unpublish, nullptr);
  EXPECT_EQ(unpublish->client_id, publish->client_id);
  EXPECT_EQ(unpublish->param, "?token=good");
  EXPECT_NE(find_record(records, "on_publish", "b", "?token=bad"), nullptr);
  EXPECT_NE(find_record(records, "on_publish", "c"), nullptr);
  EXPECT_EQ(find_record(records, "on_unpublish", "b"), nullptr) << "a refused publisher never unpublishes";
  // Each allowed player: on_play then on_stop with the same client id; refused ones get no on_stop.
  int plays = 0, stops = 0;
  for (const auto& r : records) {
    if (r.action != "on_play" || r.path != "/auth") continue;
    EXPECT_EQ(r.app, "live");
    EXPECT_EQ(r.stream, "a");
    ++plays;
    bool stopped = false;
    for (const auto& s : records) stopped |= s.action == "on_stop" && s.client_id == r.client_id;
    if (r.param == "?token=good") {
      EXPECT_TRUE(stopped) << "no on_stop for " << r.client_id;
      ++stops;
    } else {
      EXPECT_FALSE(stopped) << "on_stop for refused " << r.client_id;
    }
  }
  EXPECT_EQ(plays, 5);
  EXPECT_EQ(stops, 2);
}

TEST_F(Hooks, HlsSegmentsAndDvrFilesAreReported) {
  Process pub = start_publisher(server->rtmp_url("rec/cam"), 320, 240, pub_log("rec"), 60, 25);
  ASSERT_TRUE(wait_for_stream(*server, "rec/cam", 10000));
  // HLS cuts ~2 s segments and DVR rotates every 2 s: both hooks fire within a few seconds.
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = read_records(record);
        return find_record(r, "on_hls", "cam") && find_record(r, "on_dvr", "cam");
      },
      15000))
      << read_file(record);
  auto records = read_records(record);
  const HookRecord* hls = find_record(records, "on_hls", "cam");
  ASSERT_NE(hls, nullptr);
  EXPECT_EQ(hls->app, "rec");
  EXPECT_EQ(hls->path, "/notify");
  EXPECT_NE(read_file(record).find("\"m3u8_url\": \"/rec/cam.m3u8\""), std::string::npos) << read_file(record);
  EXPECT_NE(read_file(record).find("/dvr/rec/cam."), std::string::npos) << "on_dvr carries the file path";
}

// HLS and DASH viewers are sessions: admitted by on_play with the playlist request's token, kept by
// the cookie the first answer sets (segments carry no token), listed as clients with their bytes,
// and kicked like any client (their requests refused after, on_stop sent).
TEST_F(Hooks, HlsAndDashViewersAreAdmittedByTokenAndListedAsClients) {
  Process pub = start_publisher(server->rtmp_url("live/h?token=good"), 320, 240, pub_log("pub-h"), 60, 25);
  ASSERT_TRUE(wait_for_stream(*server, "live/h", 10000));
  const std::string base = "http://127.0.0.1:" + std::to_string(server->http_port()) + "/live/";
  const std::string jar = server->dir() + "/cookies.txt";
  auto curl = [&](const std::string& url, bool cookies) {
    std::vector<std::string> args = {"curl", "-s",           "-o",         server->dir() + "/body",
                                     "-w",   "%{http_code}", "--max-time", "20"};
    if (cookies) args.insert(args.end(), {"-b", jar, "-c", jar});
    args.push_back(url);
    return run(args, 25).out;
  };
  EXPECT_EQ(curl(base + "h.m3u8", false), "403") << "no token";
  EXPECT_EQ(curl(base + "h.m3u8?token=bad", false), "403");
  ASSERT_EQ(curl(base + "h.m3u8?token=good", true), "200") << server->log();
  const std::string playlist = read_file(server->dir() + "/body");
  ASSERT_NE(playlist.find("#EXTM3U"), std::string::npos) << playlist;
  EXPECT_NE(read_file(jar).find("estuary_hls"), std::string::npos) << "the session cookie is set";
  // The init segment and a segment, with the session's cookie and no token.
  const auto map = playlist.find("#EXT-X-MAP:URI=\"");
  ASSERT_NE(map, std::string::npos) << playlist;
  const std::string init = playlist.substr(map + 16, playlist.find('"', map + 16) - map - 16);
  EXPECT_EQ(curl(base + init, true), "200");
  // DASH is a session of its own, admitted the same way.
  EXPECT_EQ(curl(base + "h.mpd", false), "403");
  EXPECT_EQ(curl(base + "h.mpd?token=good", false), "200");

  // The API lists an hls-play and a dash-play viewer of live/h, with bytes sent.
  std::string hls_id;
  ASSERT_TRUE(wait_until(
      [&] {
        std::string body;
        if (http_request("GET", api_url(*server, "/api/v1/clients?count=100"), &body) != 200) return false;
        JsonNode* root = parse_json(body);
        if (!root) return false;
        JsonArray* clients = json_object_get_array_member(json_node_get_object(root), "clients");
        bool dash = false;
        for (guint i = 0; clients && i < json_array_get_length(clients); ++i) {
          JsonObject* c = json_array_get_object_element(clients, i);
          const std::string type = json_object_get_string_member_with_default(c, "type", "");
          if (type == "hls-play" && json_object_get_int_member_with_default(c, "send_bytes", 0) > 0)
            hls_id = json_object_get_string_member_with_default(c, "id", "");
          if (type == "dash-play") dash = true;
        }
        json_node_unref(root);
        return !hls_id.empty() && dash;
      },
      5000))
      << server->log();
  auto records = read_records(record);
  EXPECT_NE(find_record(records, "on_play", "h", "?token=good"), nullptr);
  EXPECT_NE(find_record(records, "on_play", "h", "?token=bad"), nullptr);

  // Kicked: the session's requests are refused and on_stop is sent for it.
  std::string body;
  ASSERT_EQ(http_request("DELETE", api_url(*server, "/api/v1/clients/" + hls_id), &body), 200) << body;
  EXPECT_EQ(curl(base + "h.m3u8?token=good", true), "403") << "a kicked viewer stays out for a while";
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto& r : read_records(record))
          if (r.action == "on_stop" && r.client_id == hls_id) return true;
        return false;
      },
      5000));
}

TEST_F(Hooks, TimeoutRefusesWithinTimeoutWhileOtherStreamsFlow) {
  Process pub = start_publisher(server->rtmp_url("live/flow?token=good"), 320, 240, pub_log("pub-flow"));
  ASSERT_TRUE(wait_for_stream(*server, "live/flow", 10000));
  auto t0 = std::chrono::steady_clock::now();
  Process slow = start_publisher(server->rtmp_url("slow/x"), 320, 240, pub_log("pub-slow"));
  // While the hook hangs, the live stream keeps being served.
  EXPECT_FALSE(probe_streams(server->flv_url("live/flow") + "?token=good", 10).empty());
  ASSERT_TRUE(wait_until(
      [&] {
        return server->log().find("stream=slow/x") != std::string::npos &&
               server->log().find("publish-refused") != std::string::npos;
      },
      6000))
      << server->log();
  auto refused_after = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_LT(refused_after.count(), 4500) << "refusal took too long";
  EXPECT_NE(server->log().find("no answer within 2000 ms"), std::string::npos);
  EXPECT_FALSE(wait_for_stream(*server, "slow/x", 200));
  EXPECT_TRUE(wait_for_stream(*server, "live/flow", 200));
}

TEST_F(Hooks, Code1Refuses) {
  Process pub = start_publisher(server->rtmp_url("code1/x?token=good"), 320, 240, pub_log("pub-code1"));
  EXPECT_NE(pub.wait(8000), -1);
  EXPECT_FALSE(wait_for_stream(*server, "code1/x", 200));
  EXPECT_NE(server->log().find("code 1"), std::string::npos) << server->log();
  EXPECT_NE(find_record(read_records(record), "on_publish", "x"), nullptr);
}

// SRT: key=value pairs of the stream id reach the hooks as the query ("param"); a refusal by a hook
// closes the SRT connection right after the handshake.
TEST_F(Hooks, SrtStreamIdPairsReachHooks) {
  const std::string base = "srt://127.0.0.1:" + std::to_string(server->srt_port()) + "?streamid=#!::r=live/";
  auto srt_publisher = [&](const std::string& url, const std::string& log) {
    const std::string args =
        "-hide_banner -nostats -loglevel error -re -f lavfi -i testsrc2=size=160x120:rate=25:duration=30 -f lavfi "
        "-i sine=duration=30 -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac "
        "-f mpegts";
    std::vector<std::string> argv = {"ffmpeg"};
    std::istringstream words(args);
    for (std::string w; words >> w;) argv.push_back(w);
    argv.push_back(url);
    return Process(argv, log);
  };
  Process good = srt_publisher(base + "srt1,m=publish,token=good", pub_log("srt-good"));
  ASSERT_TRUE(wait_for_stream(*server, "live/srt1", 10000)) << read_file(pub_log("srt-good"));
  Process bad = srt_publisher(base + "srt2,m=publish,token=bad", pub_log("srt-bad"));
  EXPECT_NE(bad.wait(8000), -1) << "SRT publisher with a bad token still running";
  EXPECT_FALSE(wait_for_stream(*server, "live/srt2", 200));
  EXPECT_FALSE(probe_streams(base + "srt1,m=request,token=good").empty());
  EXPECT_TRUE(probe_streams(base + "srt1,m=request,token=bad", 10).empty());
  good.kill_now();
  ASSERT_TRUE(wait_until([&] { return find_record(read_records(record), "on_unpublish", "srt1") != nullptr; }, 8000));
  auto records = read_records(record);
  const HookRecord* publish = find_record(records, "on_publish", "srt1", "?token=good");
  ASSERT_NE(publish, nullptr);
  EXPECT_EQ(publish->app, "live");
  EXPECT_NE(find_record(records, "on_publish", "srt2", "?token=bad"), nullptr);
  EXPECT_NE(find_record(records, "on_play", "srt1", "?token=good"), nullptr);
  EXPECT_NE(find_record(records, "on_play", "srt1", "?token=bad"), nullptr);
  EXPECT_EQ(find_record(records, "on_unpublish", "srt2"), nullptr) << "a refused publisher never unpublishes";
  EXPECT_NE(server->log().find("type=srt-publish reason=publish refused: on_publish refused"), std::string::npos);
}

TEST(Access, IpDenyAndConnectionLimit) {
  std::string dir = make_temp_dir();
  write_file(dir + "/estuary.conf", "[server]\nmax_connections = 2\n[security:deny]\ndeny_publish = 127.0.0.0/8\n");
  Server server({}, {"--config", dir + "/estuary.conf"});
  ASSERT_TRUE(server.start()) << server.log();
  Process denied = start_publisher(server.rtmp_url("deny/x"), 320, 240, dir + "/deny.log");
  EXPECT_NE(denied.wait(8000), -1);
  EXPECT_FALSE(wait_for_stream(server, "deny/x", 200));
  EXPECT_NE(server.log().find("publish denied for 127.0.0.1"), std::string::npos) << server.log();

  Process pub = start_publisher(server.rtmp_url("live/x"), 320, 240, dir + "/pub.log");
  ASSERT_TRUE(wait_for_stream(server, "live/x", 10000)) << server.log();
  Process player = start_player(server.flv_url("live/x"), dir + "/player.log");
  ASSERT_TRUE(wait_until([&] { return api_clients(server) == 2; }, 8000));
  std::string body;
  EXPECT_EQ(http_request("GET", server.flv_url("live/x"), &body), 503);  // the third client
  EXPECT_NE(body.find("connection limit"), std::string::npos) << body;
  EXPECT_TRUE(probe_streams(server.rtmp_url("live/x"), 8).empty());
  EXPECT_TRUE(player.running());
}

TEST(ApiAuth, BearerToken) {
  Server server(std::map<std::string, std::string>{{"ESTUARY_API_AUTH", "bearer"}, {"ESTUARY_API_TOKEN", "s3cret"}});
  server.start(300);  // start() polls the API without a token: it cannot see 200
  const std::string url = api_url(server, "/api/v1/versions");
  auto code = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    return run(argv, 5).out;
  };
  ASSERT_TRUE(wait_until([&] { return code({}) == "401"; }, 10000)) << server.log();
  std::map<std::string, std::string> headers;
  std::string body;
  EXPECT_EQ(http_request("GET", url, &body, &headers), 401);
  EXPECT_EQ(headers["WWW-Authenticate"].rfind("Bearer", 0), 0u);
  EXPECT_EQ(code({"-H", "Authorization: Bearer wrong"}), "401");
  EXPECT_EQ(code({"-H", "Authorization: Bearer s3cret"}), "200");
  EXPECT_EQ(http_request("GET", api_url(server, "/metrics"), &body), 401);
}

TEST(Metrics, ParsesAndCountsThreeViewers) {
  Server server;
  ASSERT_TRUE(server.start()) << server.log();
  Process pub = start_publisher(server.rtmp_url("live/m"), 320, 240, server.dir() + "/pub.log");
  ASSERT_TRUE(wait_for_stream(server, "live/m", 10000));
  Process p1 = start_player(server.flv_url("live/m"), server.dir() + "/p1.log");
  Process p2 = start_player(server.flv_url("live/m"), server.dir() + "/p2.log");
  Process p3 = start_player(server.rtmp_url("live/m"), server.dir() + "/p3.log");
  ASSERT_TRUE(wait_until([&] { return api_clients(server) == 4; }, 10000));
  std::this_thread::sleep_for(1500ms);
  std::string text;
  ASSERT_EQ(http_request("GET", api_url(server, "/metrics"), &text), 200);
  const std::string file = server.dir() + "/metrics.txt";
  write_file(file, text);
  // A real Prometheus text parser (python3-prometheus-client); prints the viewers of live/m.
  const std::string script =
      "import sys\n"
      "from prometheus_client.parser import text_string_to_metric_families\n"
      "v = 0\nnames = set()\n"
      "for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
      "    names.add(fam.name)\n"
      "    for s in fam.samples:\n"
      "        if s.name == 'estuary_stream_viewers' and s.labels.get('app') == 'live' and "
      "s.labels.get('stream') == 'm':\n"
      "            v += s.value\n"
      "for n in ['estuary_uptime_seconds', 'estuary_process_cpu_seconds', 'estuary_connections',\n"
      "          'estuary_stream_video_width', 'estuary_output_dropped_bytes', 'estuary_stream_frames']:\n"
      "    assert n in names, n\n"
      "print(int(v))\n";
  write_file(server.dir() + "/parse.py", script);
  RunResult r = run({"python3", server.dir() + "/parse.py", file}, 20);
  if (r.exit_code != 0) r = run({"/usr/bin/python3", server.dir() + "/parse.py", file}, 20);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << text;
  EXPECT_EQ(r.out, "3\n") << text;
  EXPECT_NE(text.find("estuary_stream_viewers{app=\"live\",stream=\"m\",protocol=\"flv\"} 2"), std::string::npos)
      << text;
}

}  // namespace
