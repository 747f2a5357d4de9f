// Owns: the error code -> HTTP status table (see api_errors.h).
#include "server/api/api_errors.h"

namespace estuary::api {

int http_status_for_code(int api_code, bool srs_error_status) {
  if (srs_error_status && api_code >= 1000) return 200;
  switch (api_code) {
    case code::success:
      return 200;
    case code::vhost_not_found:
    case code::stream_not_found:
    case code::client_not_found:
      return 404;
    default:
      break;
  }
  if (api_code >= 400 && api_code <= 599) return api_code;
  return 500;
}

}  // namespace estuary::api
