// Owns: client id generation (see ids.h).
#include "common/ids.h"

#include <glib.h>

#include <atomic>

namespace estuary {

std::string new_client_id() {
  static std::atomic<guint32> counter{0};
  static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  // Random high part + counter low part: unique in-process, unguessable enough for kicking by id.
  guint64 v = (static_cast<guint64>(g_random_int()) << 20) ^ (counter.fetch_add(1) & 0xfffff);
  std::string id(8, '0');
  for (int i = 7; i >= 0; --i) {
    id[i] = alphabet[v % 36];
    v /= 36;
  }
  return id;
}

}  // namespace estuary
