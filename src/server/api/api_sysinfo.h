// Owns: the process and host facts /api/v1/summaries reports beyond what the Backend knows (parent
// pid, command line, cwd, host memory, load, uptime, host CPU use). Reads /proc; Linux only, and
// every field falls back to 0/"" where /proc is not readable.
#pragma once

#include <cstdint>
#include <string>

namespace estuary::api {

struct ProcessInfo {
  int ppid = 0;
  std::string argv;  // the command line, arguments joined by single spaces (SRS form)
  std::string cwd;
};

struct HostInfo {
  bool ok = false;             // false when /proc/meminfo could not be read
  uint64_t mem_ram_kbyte = 0;  // MemTotal
  double mem_ram_percent = 0;  // used (MemTotal - MemAvailable) / MemTotal, ratio 0..1 like SRS
  uint64_t mem_swap_kbyte = 0;
  double mem_swap_percent = 0;
  int cpus = 0;  // configured processors
  int cpus_online = 0;
  double uptime_s = 0;  // /proc/uptime
  double idle_s = 0;    // /proc/uptime second field (summed over CPUs)
  double load_1m = 0, load_5m = 0, load_15m = 0;
  double cpu_percent = 0;  // host CPU busy ratio 0..1 since the previous sample (see CpuSampler)
};

ProcessInfo read_process_info();

// Host CPU use between successive calls; the first call reports the average since boot.
class CpuSampler {
 public:
  double sample();  // ratio 0..1

 private:
  uint64_t last_total_ = 0;
  uint64_t last_idle_ = 0;
};

HostInfo read_host_info(CpuSampler& cpu);

}  // namespace estuary::api
