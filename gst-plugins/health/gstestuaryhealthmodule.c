/* Entry point of the loadable "estuaryhealth" plugin module (gst-launch-1.0, gst-inspect-1.0); the
 * element itself lives in the estuary_health static library. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstestuaryhealthplugin.h"

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, estuaryhealth,
    ESTUARY_HEALTH_PLUGIN_DESCRIPTION, gst_estuary_health_plugin_init,
    ESTUARY_PLUGIN_VERSION, "LGPL", "estuary", ESTUARY_HEALTH_PLUGIN_ORIGIN)
