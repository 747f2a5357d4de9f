// Owns: a stand-in RTSP camera for the pulled-source tests: gst-rtsp-server on 127.0.0.1:PORT
// serving rtsp://127.0.0.1:PORT/cam as H.264 (320x240, 15 fps, keyframe every second) + AAC, one
// shared media for every client. A separate process, so a test can kill it (the camera goes away)
// and start it again on the same port. Prints "READY" once listening. With "two-audio", a second
// AAC stream follows (mono, 48 kHz, 880 Hz): a source with two audio tracks.
//   usage: estuary-rtsp-test-source PORT [two-audio]
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  GstRTSPServer* server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, argv[1]);
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  const bool two_audio = argc > 2 && g_str_equal(argv[2], "two-audio");
  const std::string launch =
      std::string(
          "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! "
          "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=300 ! rtph264pay name=pay0 pt=96 "
          "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=44100,channels=2 ! audioconvert ! voaacenc "
          "bitrate=64000 ! rtpmp4gpay name=pay1 pt=97 ") +
      (two_audio ? "audiotestsrc is-live=true wave=sine freq=880 ! audio/x-raw,rate=48000,channels=1 ! audioconvert ! "
                   "voaacenc bitrate=64000 ! rtpmp4gpay name=pay2 pt=98 "
                 : "") +
      ")";
  gst_rtsp_media_factory_set_launch(factory, launch.c_str());
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, "/cam", factory);
  g_object_unref(mounts);
  if (gst_rtsp_server_attach(server, nullptr) == 0) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%s\n", argv[1]);
    return 1;
  }
  std::printf("READY\n");
  std::fflush(stdout);
  g_main_loop_run(loop);
  return 0;
}
