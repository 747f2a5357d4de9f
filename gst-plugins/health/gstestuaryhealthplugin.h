/* The "estuaryhealth" plugin's init function, shared by the module and the static registration. */
#ifndef __GST_ESTUARY_HEALTH_PLUGIN_H__
#define __GST_ESTUARY_HEALTH_PLUGIN_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#ifndef ESTUARY_PLUGIN_VERSION
#define ESTUARY_PLUGIN_VERSION "0.1.0"
#endif
#define ESTUARY_HEALTH_PLUGIN_DESCRIPTION \
  "Estuary stream health: black frames, frozen video, silence and A/V drift as element messages"
#define ESTUARY_HEALTH_PLUGIN_ORIGIN "Unknown package origin"

gboolean gst_estuary_health_plugin_init (GstPlugin * plugin);

G_END_DECLS

#endif /* __GST_ESTUARY_HEALTH_PLUGIN_H__ */
