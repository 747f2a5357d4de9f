// Owns: end-to-end tests of TLS (issue #7): the HTTPS API, HTTPS-FLV/TS/HLS and RTMPS against the real
// server with a self-signed certificate made by openssl in the test and verified by the clients
// (curl --cacert, ffprobe -tls_verify 1, openssl s_client); startup refusal of missing, weak and
// mismatched certificate files; certificate reload on SIGHUP (and a bad one refused on SIGHUP).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

namespace estuary::e2e {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// A self-signed certificate for 127.0.0.1 in dir/NAME.crt + dir/NAME.key; extra: openssl options
// (weaker key, other digest).
bool make_cert(const std::string& dir, const std::string& name, const std::string& cn, int bits = 2048,
               const std::string& digest = "-sha256") {
  auto r = run({"openssl", "req", "-x509", "-newkey", "rsa:" + std::to_string(bits), "-nodes", digest, "-days", "2",
                "-subj", "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout",
                dir + "/" + name + ".key", "-out", dir + "/" + name + ".crt"},
               30);
  if (r.exit_code != 0) ADD_FAILURE() << "openssl req failed: " << r.err;
  return r.exit_code == 0;
}

std::string url(const char* scheme, int port, const std::string& path) {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(port) + path;
}

// curl with the CA file; returns exit code, body in *out (headers excluded).
RunResult curl(const std::vector<std::string>& extra, const std::string& target, int max_time_s = 5) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", std::to_string(max_time_s)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(target);
  return run(argv, max_time_s + 5);
}

// Subject CN that a TLS listener presents to openssl s_client (verified against ca), or "".
std::string served_subject(int port, const std::string& ca) {
  auto r = run({"sh", "-c",
                "openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile " + ca +
                    " -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -subject"},
               10);
  return r.exit_code == 0 ? r.out : "";
}

// Sends bytes that are not a TLS ClientHello and reports whether the server closed the connection.
bool garbage_handshake_closed(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return false;
  }
  const char junk[] = "GET / HTTP/1.0\r\n\r\nthis is not TLS at all\r\n";
  (void)!write(fd, junk, sizeof junk - 1);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
  }
  close(fd);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

// Connects and sends nothing; returns how long the server took to close (ms), or -1 after 5 s.
int silent_connection_closed_after_ms(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto start = std::chrono::steady_clock::now();
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[64];
  const ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n != 0 && !(n < 0 && errno == ECONNRESET)) return -1;
  return int(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    ASSERT_TRUE(make_cert(dir_, "good", "estuary-first"));
  }
  std::map<std::string, std::string> tls_env(const std::string& name = "good") const {
    return {{"ESTUARY_TLS_CERT_FILE", dir_ + "/" + name + ".crt"},
            {"ESTUARY_TLS_KEY_FILE", dir_ + "/" + name + ".key"}};
  }
  std::string ca(const std::string& name = "good") const { return dir_ + "/" + name + ".crt"; }
  std::string dir_;
};

TEST_F(Tls, HttpsApiHttpsFlvTsHlsAndRtmpsPublish) {
  Server server(tls_env());
  ASSERT_TRUE(server.start()) << server.log();

  // HTTPS API, verified against the self-signed certificate; unverified clients are refused.
  auto api = curl({"--cacert", ca()}, url("https", server.api_https_port(), "/api/v1/versions"));
  ASSERT_EQ(api.exit_code, 0) << api.err;
  EXPECT_NE(api.out.find("\"code\":0"), std::string::npos) << api.out;
  EXPECT_NE(curl({}, url("https", server.api_https_port(), "/api/v1/versions")).exit_code, 0)
      << "curl without --cacert must fail verification";

  // RTMPS publish (ffmpeg's rtmps:// over GnuTLS).
  Process pub =
      start_publisher(url("rtmps", server.rtmps_port(), "/live/tls"), 320, 240, server.dir() + "/pub.log", 30, 25);
  ASSERT_TRUE(wait_for_stream(server, "live/tls", 15000)) << server.log() << read_file(server.dir() + "/pub.log");
  // The publisher shows up with its real address, not the relay's socketpair.
  std::string clients;
  ASSERT_EQ(http_request("GET", url("http", server.api_port(), "/api/v1/clients"), &clients), 200);
  EXPECT_NE(clients.find("\"ip\":\"127.0.0.1\""), std::string::npos) << clients;
  EXPECT_NE(clients.find("fmle-publish"), std::string::npos) << clients;

  // Plays back over plain HTTP-FLV.
  auto plain = probe_streams(server.flv_url("live/tls"));
  ASSERT_EQ(plain.size(), 2u) << server.log();

  // HTTPS-FLV: ffprobe verifying the certificate, and curl reading the first bytes.
  auto r = run({"ffprobe", "-v", "error", "-tls_verify", "1", "-ca_file", ca(), "-show_streams", "-of", "json",
                url("https", server.https_port(), "/live/tls.flv")},
               20);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"codec_name\": \"h264\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"codec_name\": \"aac\""), std::string::npos) << r.out;
  const std::string flv_path = server.dir() + "/https.flv";
  auto got = curl({"--cacert", ca(), "-o", flv_path}, url("https", server.https_port(), "/live/tls.flv"), 2);
  EXPECT_EQ(got.exit_code, 28) << "a live FLV stream ends by the time limit: " << got.err;
  std::string flv = read_file(flv_path);
  ASSERT_GT(flv.size(), 10000u);
  EXPECT_EQ(flv.substr(0, 3), "FLV");

  // HTTPS-TS starts with a TS sync byte; HTTPS HLS serves a playlist.
  const std::string ts_path = server.dir() + "/https.ts";
  curl({"--cacert", ca(), "-o", ts_path}, url("https", server.https_port(), "/live/tls.ts"), 2);
  std::string ts = read_file(ts_path);
  ASSERT_GT(ts.size(), 188u * 10);
  EXPECT_EQ(ts[0], '\x47');
  EXPECT_EQ(ts[188], '\x47');
  std::string playlist;
  for (int i = 0; i < 40 && playlist.find("#EXTINF") == std::string::npos; ++i) {
    auto m3u8 = curl({"--cacert", ca(), "-f"}, url("https", server.https_port(), "/live/tls.m3u8"));
    playlist = m3u8.out;
    if (playlist.find("#EXTINF") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_NE(playlist.find("#EXTINF"), std::string::npos) << playlist;

  // RTMPS play: the player is handed to the fan-out through the relay.
  r = run({"ffprobe", "-v", "error", "-show_streams", "-of", "json", url("rtmps", server.rtmps_port(), "/live/tls")},
          20);
  EXPECT_NE(r.out.find("\"codec_name\": \"h264\""), std::string::npos) << r.err;

  // A client that does not speak TLS is closed and logged; the stream goes on.
  EXPECT_TRUE(garbage_handshake_closed(server.rtmps_port()));
  EXPECT_TRUE(garbage_handshake_closed(server.https_port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_NE(server.log().find("tls-handshake-failed"), std::string::npos) << server.log();
  EXPECT_TRUE(pub.running());
  EXPECT_EQ(probe_streams(server.flv_url("live/tls")).size(), 2u);

  // Every connected viewer (HTTPS and RTMPS ones included) is gone: relays close both ends. The HLS
  // viewer is a session without a connection: listed until it has been idle a while.
  int connected = -1, hls = 0;
  for (int i = 0; i < 50 && connected != 1; ++i) {
    std::vector<std::pair<std::string, std::string>> clients;
    api_clients(server, &clients);
    connected = 0;
    hls = 0;
    for (const auto& [id, type] : clients) (type == "hls-play" ? hls : connected)++;
    if (connected != 1) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(connected, 1) << "only the publisher should be left";
  EXPECT_EQ(hls, 1) << "the HTTPS HLS viewer is listed as one session";
}

TEST_F(Tls, RefusesMissingWeakAndMismatchedCertificates) {
  ASSERT_TRUE(make_cert(dir_, "weak", "weak", 1024));
  ASSERT_TRUE(make_cert(dir_, "sha1", "sha1", 2048, "-sha1"));
  const std::string binary = build_root() + "/src/server/estuary";
  auto start = [&](const std::vector<std::string>& env, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"env", "ESTUARY_API_PORT=" + std::to_string(free_tcp_port()),
                                     "ESTUARY_HTTP_PORT=" + std::to_string(free_tcp_port()),
                                     "ESTUARY_RTMP_PORT=" + std::to_string(free_tcp_port()),
                                     "ESTUARY_RTSP_PORT=" + std::to_string(free_tcp_port())};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(binary);
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, 20);
  };

  // Missing file, named in a config file: file:line of the key.
  const std::string conf = dir_ + "/missing.conf";
  write_file(conf, "[tls]\n# the certificate\ncert_file = " + dir_ + "/nope.crt\n");
  auto r = start({}, {"--config", conf});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(conf + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;

  // 1024-bit RSA key, from the environment.
  r = start({"ESTUARY_TLS_CERT_FILE=" + ca("weak"), "ESTUARY_TLS_KEY_FILE=" + dir_ + "/weak.key"}, {});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("environment ESTUARY_TLS_CERT_FILE"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1024 bits"), std::string::npos) << r.err;

  // SHA-1 signature.
  r = start({"ESTUARY_TLS_CERT_FILE=" + ca("sha1"), "ESTUARY_TLS_KEY_FILE=" + dir_ + "/sha1.key"}, {});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("SHA1"), std::string::npos) << r.err;

  // A key that belongs to another certificate.
  const std::string conf2 = dir_ + "/mismatch.conf";
  write_file(conf2, "[tls]\ncert_file = " + ca("good") + "\nkey_file = " + dir_ + "/weak.key\n");
  r = start({}, {"--config", conf2});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(conf2 + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not match"), std::string::npos) << r.err;

  // --check-config says the same without starting.
  r = start({}, {"--config", conf2, "--check-config"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not match"), std::string::npos) << r.err;
}

TEST_F(Tls, SighupServesRenewedCertificateAndKeepsItOnBadOne) {
  // The server reads copies, so the test can replace them in place like a renewal would.
  const std::string crt = dir_ + "/live.crt", key = dir_ + "/live.key";
  write_file(crt, read_file(ca("good")));
  write_file(key, read_file(dir_ + "/good.key"));
  ASSERT_TRUE(make_cert(dir_, "second", "estuary-second"));
  ASSERT_TRUE(make_cert(dir_, "weak", "weak", 1024));

  Server server(
      {{"ESTUARY_TLS_CERT_FILE", crt}, {"ESTUARY_TLS_KEY_FILE", key}, {"ESTUARY_RTMP_HANDSHAKE_TIMEOUT_MS", "800"}});
  ASSERT_TRUE(server.start()) << server.log();
  // A client that never starts its TLS handshake is dropped after [rtmp] handshake_timeout_ms.
  const int closed_ms = silent_connection_closed_after_ms(server.rtmps_port());
  EXPECT_GE(closed_ms, 700);
  EXPECT_LE(closed_ms, 3000);
  EXPECT_NE(served_subject(server.api_https_port(), ca("good")).find("estuary-first"), std::string::npos);
  EXPECT_NE(curl({"--cacert", ca("second")}, url("https", server.api_https_port(), "/api/v1/versions")).exit_code, 0);

  write_file(crt, read_file(ca("second")));
  write_file(key, read_file(dir_ + "/second.key"));
  server.process().signal(SIGHUP);
  std::string subject;
  for (int i = 0; i < 30 && subject.find("estuary-second") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    subject = served_subject(server.api_https_port(), ca("second"));
  }
  EXPECT_NE(subject.find("estuary-second"), std::string::npos) << server.log();
  // Every TLS listener serves the new one.
  EXPECT_NE(served_subject(server.https_port(), ca("second")).find("estuary-second"), std::string::npos);
  EXPECT_NE(served_subject(server.rtmps_port(), ca("second")).find("estuary-second"), std::string::npos);
  auto api = curl({"--cacert", ca("second")}, url("https", server.api_https_port(), "/api/v1/versions"));
  EXPECT_EQ(api.exit_code, 0) << api.err;

  // A weak replacement is refused: the log says so and the renewed certificate stays.
  write_file(crt, read_file(ca("weak")));
  write_file(key, read_file(dir_ + "/weak.key"));
  server.process().signal(SIGHUP);
  std::string log;
  for (int i = 0; i < 30 && log.find("1024 bits") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log = server.log();
  }
  EXPECT_NE(log.find("1024 bits"), std::string::npos) << log;
  EXPECT_NE(served_subject(server.rtmps_port(), ca("second")).find("estuary-second"), std::string::npos);
  EXPECT_TRUE(server.process().running());
}

}  // namespace
}  // namespace estuary::e2e
