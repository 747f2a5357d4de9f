// Owns: request paths without their query (see rtsp_paths.h).
#include "server/protocols/rtsp/rtsp_paths.h"

namespace estuary::server {

std::string rtsp_path_without_query(const char* abspath, const char* query) {
  std::string path = abspath ? abspath : "";
  if (!query) return path;
  // A control path after the query: "/app/stream?token=x/streamid=0".
  if (const char* slash = strchr(query, '/')) path += slash;
  return path;
}

}  // namespace estuary::server

namespace {

struct EstuaryRtspClient {
  GstRTSPClient parent;
};
struct EstuaryRtspClientClass {
  GstRTSPClientClass parent_class;
};
G_DEFINE_TYPE(EstuaryRtspClient, estuary_rtsp_client, GST_TYPE_RTSP_CLIENT)

gchar* estuary_rtsp_client_make_path(GstRTSPClient*, const GstRTSPUrl* uri) {
  return g_strdup(estuary::server::rtsp_path_without_query(uri->abspath, uri->query).c_str());
}
void estuary_rtsp_client_class_init(EstuaryRtspClientClass* klass) {
  GST_RTSP_CLIENT_CLASS(klass)->make_path_from_uri = estuary_rtsp_client_make_path;
}
void estuary_rtsp_client_init(EstuaryRtspClient*) {}

struct EstuaryRtspServer {
  GstRTSPServer parent;
};
struct EstuaryRtspServerClass {
  GstRTSPServerClass parent_class;
};
G_DEFINE_TYPE(EstuaryRtspServer, estuary_rtsp_server, GST_TYPE_RTSP_SERVER)

// What gst-rtsp-server's default create_client does, with our client type.
GstRTSPClient* estuary_rtsp_server_create_client(GstRTSPServer* server) {
  auto* client = static_cast<GstRTSPClient*>(g_object_new(estuary_rtsp_client_get_type(), nullptr));
  GstRTSPSessionPool* pool = gst_rtsp_server_get_session_pool(server);
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  GstRTSPAuth* auth = gst_rtsp_server_get_auth(server);
  GstRTSPThreadPool* threads = gst_rtsp_server_get_thread_pool(server);
  gst_rtsp_client_set_session_pool(client, pool);
  gst_rtsp_client_set_content_length_limit(client, gst_rtsp_server_get_content_length_limit(server));
  gst_rtsp_client_set_mount_points(client, mounts);
  gst_rtsp_client_set_auth(client, auth);
  gst_rtsp_client_set_thread_pool(client, threads);
  if (pool) g_object_unref(pool);
  if (mounts) g_object_unref(mounts);
  if (auth) g_object_unref(auth);
  if (threads) g_object_unref(threads);
  return client;
}
void estuary_rtsp_server_class_init(EstuaryRtspServerClass* klass) {
  GST_RTSP_SERVER_CLASS(klass)->create_client = estuary_rtsp_server_create_client;
}
void estuary_rtsp_server_init(EstuaryRtspServer*) {}

}  // namespace

namespace estuary::server {

GstRTSPServer* new_rtsp_server() {
  return static_cast<GstRTSPServer*>(g_object_new(estuary_rtsp_server_get_type(), nullptr));
}

}  // namespace estuary::server
