/* estuaryhealth: pass-through stream-health analyser (see gstestuaryhealth.c for the docs). */
#ifndef __GST_ESTUARY_HEALTH_H__
#define __GST_ESTUARY_HEALTH_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_ESTUARY_HEALTH (gst_estuary_health_get_type ())
G_DECLARE_FINAL_TYPE (GstEstuaryHealth, gst_estuary_health, GST, ESTUARY_HEALTH, GstElement)

GST_ELEMENT_REGISTER_DECLARE (estuaryhealth);

G_END_DECLS

#endif /* __GST_ESTUARY_HEALTH_H__ */
