// Owns: read_mp4_layout() (see mp4_layout_read.h).
#include "server/outputs/dvr/mp4_layout_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace estuary::server {

Result<Mp4Layout> read_mp4_layout(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open " + path + ": " + std::strerror(errno), ErrorReason::not_found, "dvr"};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return Error{"cannot stat " + path + ": " + std::strerror(e), ErrorReason::not_found, "dvr"};
  }
  Mp4BoxScan scan(uint64_t(st.st_size));
  uint8_t header[kMp4BoxHeaderBytes];
  while (!scan.done()) {
    const size_t want = scan.want_bytes();
    ssize_t got = pread(fd, header, want, off_t(scan.want_offset()));
    if (got < 0 && errno == EINTR) continue;
    scan.feed(header, got < 0 ? 0 : size_t(got));
  }
  close(fd);
  if (!scan.ok()) return Error{path + " is not a fragmented MP4 we play: " + scan.error(), ErrorReason::invalid, "dvr"};
  return scan.layout();
}

}  // namespace estuary::server
