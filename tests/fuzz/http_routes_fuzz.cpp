// Owns: the libFuzzer target of HTTP request routing: the media server's stream paths
// (/app/stream.EXT for every extension it serves) and the API router (method, path, query decoded
// as libsoup decodes it, pagination, JSONP) over the API unit tests' in-memory backend.
// Input: method line, path line, raw query string.
#include <libsoup/soup.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/api/api_router.h"
#include "server/control/http_routes.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/unit/api/api_test_util.h"

namespace {

using namespace estuary::api;

// The API unit tests' backend: two streams, three clients.
test::FakeBackend& backend() {
  static test::FakeBackend b;
  return b;
}

ApiRouter& router() {
  static ServerIdentity identity = make_server_identity();
  static ApiRouter r(backend(), identity, ApiOptions{});
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  estuary::fuzz::FuzzInput in(data, size);
  std::string method(in.until('\n'));
  std::string path(in.until('\n'));
  std::string raw_query(in.rest_text());
  for (const char* ext : {".flv", ".ts", ".m3u8", "_abr.m3u8", ".m4s", ".mp4", ".aac"}) {
    estuary::server::StreamPath sp;
    if (estuary::server::parse_stream_path(path, ext, &sp) && (sp.app.empty() || sp.stream.empty())) std::abort();
  }
  ApiRequest req;
  req.method = method;
  req.path = path;
  if (raw_query.size() <= 4096 && raw_query.find('\0') == std::string::npos) {
    if (GHashTable* q = soup_form_decode(raw_query.c_str())) {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init(&it, q);
      while (g_hash_table_iter_next(&it, &k, &v))
        req.query.emplace(static_cast<const char*>(k), v ? static_cast<const char*>(v) : "");
      g_hash_table_unref(q);
    }
  }
  if (path.size() <= 4096) {
    ApiReply reply = router().handle(req);
    if (reply.http_status < 100 || reply.http_status > 599) std::abort();
    backend().kicked.clear();  // kick_client records every id; keep memory flat across inputs
  }
  parse_page(req.query, 1000);
  return 0;
}
