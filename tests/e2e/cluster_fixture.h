// Owns: what the cluster e2e suites share: a real redis-server on a free port (started and killed
// by the test), API GETs and one /metrics series of a node, node environments, client counts.
#pragma once

#include <signal.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace estuary::e2e {

class Redis {
 public:
  Redis() : port_(free_tcp_port()), dir_(make_temp_dir()) {}
  bool start() {
    process_ = Process({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", dir_},
                       dir_ + "/redis.log");
    return wait_until([&] { return cli({"PING"}) == "PONG"; }, 5000);
  }
  void stop() {
    process_.signal(SIGKILL);
    process_.wait(3000);
  }
  std::string cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"redis-cli", "-p", std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, 5);
    std::string out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  int port_;
  std::string dir_;
  Process process_;
};

inline std::string api_get(const Server& s, const std::string& path, int* status = nullptr) {
  std::string body;
  int st = http_request("GET", "http://127.0.0.1:" + std::to_string(s.api_port()) + path, &body);
  if (status) *status = st;
  return body;
}

inline double metric(const Server& server, const std::string& name) {
  std::istringstream in(api_get(server, "/metrics"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + " ", 0) == 0) return std::atof(line.c_str() + name.size() + 1);
  return -1;
}

// A node of the cluster on the registry, with fast heartbeats (200 ms) and short TTLs (1 s).
inline std::map<std::string, std::string> cluster_env(const std::string& mode, const std::string& node,
                                                      const Redis& redis) {
  return {{"ESTUARY_CLUSTER_MODE", mode},
          {"ESTUARY_CLUSTER_NODE_ID", node},
          {"ESTUARY_CLUSTER_REGISTRY", redis.url()},
          {"ESTUARY_CLUSTER_HEARTBEAT_MS", "200"},
          {"ESTUARY_CLUSTER_TTL_MS", "1000"},
          {"ESTUARY_CLUSTER_LOOKUP_TIMEOUT_MS", "500"}};
}

// A node with a 1 s linger, for the edge suites.
inline std::map<std::string, std::string> node_env(const std::string& mode, const std::string& node,
                                                   const Redis& redis) {
  auto env = cluster_env(mode, node, redis);
  env["ESTUARY_CLUSTER_LINGER_MS"] = "1000";
  return env;
}

// Clients of a type ("edge-pull", "rtmp-play") in a node's /api/v1/clients.
inline int type_count(const Server& s, const std::string& type) {
  std::vector<std::pair<std::string, std::string>> clients;
  api_clients(s, &clients);
  int n = 0;
  for (const auto& [id, t] : clients) n += t == type ? 1 : 0;
  return n;
}

inline size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace estuary::e2e
