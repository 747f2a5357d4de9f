/* Entry point of the loadable "estuary" plugin module (gst-launch-1.0, gst-inspect-1.0); the
 * elements themselves live in the estuary_streambus static library. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstestuaryplugin.h"

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, estuary,
    ESTUARY_PLUGIN_DESCRIPTION, gst_estuary_plugin_init, ESTUARY_PLUGIN_VERSION, "LGPL", "estuary",
    ESTUARY_PLUGIN_ORIGIN)
