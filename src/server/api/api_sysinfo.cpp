// Owns: reading /proc for the summaries endpoint (see api_sysinfo.h). These are small procfs reads,
// cheap enough for the main loop.
#include "server/api/api_sysinfo.h"

#include <glib.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace estuary::api {
namespace {

std::string read_small_file(const char* path) {
  gchar* contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(path, &contents, &length, nullptr)) return {};
  std::string out(contents, length);
  g_free(contents);
  return out;
}

// Value in kB of a "/proc/meminfo" line such as "MemTotal:  16318412 kB"; 0 when absent.
uint64_t meminfo_value(const std::string& meminfo, const char* key) {
  std::string needle = std::string("\n") + key + ":";
  std::string text = "\n" + meminfo;
  auto pos = text.find(needle);
  if (pos == std::string::npos) return 0;
  return g_ascii_strtoull(text.c_str() + pos + needle.size(), nullptr, 10);
}

}  // namespace

ProcessInfo read_process_info() {
  ProcessInfo info;
  info.ppid = static_cast<int>(getppid());
  std::string cmdline = read_small_file("/proc/self/cmdline");
  while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  for (char& c : cmdline)
    if (c == '\0') c = ' ';
  info.argv = std::move(cmdline);
  gchar* cwd = g_get_current_dir();
  info.cwd = cwd ? cwd : "";
  g_free(cwd);
  return info;
}

double CpuSampler::sample() {
  std::string stat = read_small_file("/proc/stat");
  if (stat.compare(0, 4, "cpu ") != 0) return 0;
  // cpu  user nice system idle iowait irq softirq steal ...
  uint64_t v[8] = {};
  const char* p = stat.c_str() + 4;
  for (auto& x : v) {
    char* end = nullptr;
    x = g_ascii_strtoull(p, &end, 10);
    if (end == p) break;
    p = end;
  }
  uint64_t idle = v[3] + v[4];
  uint64_t total = 0;
  for (auto x : v) total += x;
  uint64_t d_total = total - last_total_;
  uint64_t d_idle = idle - last_idle_;
  last_total_ = total;
  last_idle_ = idle;
  if (d_total == 0 || d_idle > d_total) return 0;
  return 1.0 - static_cast<double>(d_idle) / static_cast<double>(d_total);
}

HostInfo read_host_info(CpuSampler& cpu) {
  HostInfo h;
  std::string meminfo = read_small_file("/proc/meminfo");
  h.ok = !meminfo.empty();
  h.mem_ram_kbyte = meminfo_value(meminfo, "MemTotal");
  uint64_t avail = meminfo_value(meminfo, "MemAvailable");
  if (h.mem_ram_kbyte > 0 && avail <= h.mem_ram_kbyte)
    h.mem_ram_percent = static_cast<double>(h.mem_ram_kbyte - avail) / static_cast<double>(h.mem_ram_kbyte);
  h.mem_swap_kbyte = meminfo_value(meminfo, "SwapTotal");
  uint64_t swap_free = meminfo_value(meminfo, "SwapFree");
  if (h.mem_swap_kbyte > 0 && swap_free <= h.mem_swap_kbyte)
    h.mem_swap_percent = static_cast<double>(h.mem_swap_kbyte - swap_free) / static_cast<double>(h.mem_swap_kbyte);

  long conf = sysconf(_SC_NPROCESSORS_CONF);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  h.cpus = conf > 0 ? static_cast<int>(conf) : 0;
  h.cpus_online = online > 0 ? static_cast<int>(online) : 0;

  std::string uptime = read_small_file("/proc/uptime");
  if (!uptime.empty()) {
    char* end = nullptr;
    h.uptime_s = g_ascii_strtod(uptime.c_str(), &end);
    if (end) h.idle_s = g_ascii_strtod(end, nullptr);
  }
  double load[3] = {};
  if (getloadavg(load, 3) == 3) {
    h.load_1m = load[0];
    h.load_5m = load[1];
    h.load_15m = load[2];
  }
  h.cpu_percent = cpu.sample();
  return h;
}

}  // namespace estuary::api
