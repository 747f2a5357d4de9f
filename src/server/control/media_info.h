// Owns: turning track caps from the stream bus into the API's video/audio descriptions.
#pragma once

#include <gst/gst.h>

#include "server/control/api_model.h"

namespace estuary::server {

api::VideoView video_view_from_caps(GstCaps* caps);
api::AudioView audio_view_from_caps(GstCaps* caps);

}  // namespace estuary::server
