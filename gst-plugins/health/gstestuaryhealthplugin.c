/* The "estuaryhealth" plugin's element registration, shared by the loadable module
 * (gstestuaryhealthmodule.c) and by estuary_health_register_static() for in-process use. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "estuaryhealth.h"
#include "gstestuaryhealth.h"
#include "gstestuaryhealthplugin.h"

gboolean
gst_estuary_health_plugin_init (GstPlugin * plugin)
{
  return GST_ELEMENT_REGISTER (estuaryhealth, plugin);
}

void
estuary_health_register_static (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered)) {
    if (!gst_plugin_register_static (GST_VERSION_MAJOR, GST_VERSION_MINOR,
            "estuaryhealth", ESTUARY_HEALTH_PLUGIN_DESCRIPTION,
            gst_estuary_health_plugin_init, ESTUARY_PLUGIN_VERSION, "LGPL",
            "estuary", "estuary", ESTUARY_HEALTH_PLUGIN_ORIGIN))
      g_warning ("could not register the estuaryhealth plugin");
    g_once_init_leave (&registered, 1);
  }
}
