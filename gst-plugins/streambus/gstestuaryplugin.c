/* The "estuary" plugin's element registration, shared by the loadable module (gstestuarymodule.c)
 * and by estuary_streambus_register_static() for in-process use by the server and the tests. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "estuarystreambus.h"
#include "gstestuaryplugin.h"
#include "gstestuarysink.h"
#include "gstestuarysrc.h"

gboolean
gst_estuary_plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (estuarysink, plugin);
  ret |= GST_ELEMENT_REGISTER (estuarysrc, plugin);
  return ret;
}

void
estuary_streambus_register_static (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered)) {
    if (!gst_plugin_register_static (GST_VERSION_MAJOR, GST_VERSION_MINOR, "estuary",
            ESTUARY_PLUGIN_DESCRIPTION, gst_estuary_plugin_init, ESTUARY_PLUGIN_VERSION, "LGPL",
            "estuary", "estuary", ESTUARY_PLUGIN_ORIGIN))
      g_warning ("could not register the estuary plugin");
    g_once_init_leave (&registered, 1);
  }
}
