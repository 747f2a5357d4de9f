/* estuarysink: the publisher element of the Estuary stream bus (type, instance struct). */
#ifndef __GST_ESTUARY_SINK_H__
#define __GST_ESTUARY_SINK_H__

#include <gst/gst.h>

#include "estuarybus.h"

G_BEGIN_DECLS

#define GST_TYPE_ESTUARY_SINK (gst_estuary_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstEstuarySink, gst_estuary_sink, GST, ESTUARY_SINK, GstElement)

struct _GstEstuarySink
{
  GstElement parent;

  GMutex lock;                  /* protects the fields below and the pads' track ids */
  gchar *stream_name;
  guint64 gop_cache_max_bytes;
  gboolean takeover;            /* publish over a live stream of the same name (a reload) */
  EstuaryBusStream *stream;     /* set while published */
  gboolean eos_posted;
  guint next_pad_id;

  guint64 buffers;              /* published, guarded by lock */
  guint64 bytes;
};

GST_ELEMENT_REGISTER_DECLARE (estuarysink);

G_END_DECLS

#endif /* __GST_ESTUARY_SINK_H__ */
