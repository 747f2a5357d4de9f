/* estuarysrc: the subscriber element of the Estuary stream bus (type, instance struct). */
#ifndef __GST_ESTUARY_SRC_H__
#define __GST_ESTUARY_SRC_H__

#include <gst/gst.h>
#include <gst/base/gstflowcombiner.h>

#include "estuarybus.h"

G_BEGIN_DECLS

#define GST_TYPE_ESTUARY_SRC (gst_estuary_src_get_type ())
G_DECLARE_FINAL_TYPE (GstEstuarySrc, gst_estuary_src, GST, ESTUARY_SRC, GstElement)

struct _GstEstuarySrc
{
  GstElement parent;

  GMutex lock;                  /* protects the properties and the sub pointer */
  gchar *stream_name;
  guint64 max_queue_time;
  guint max_queue_bytes;
  gboolean catch_up;
  guint audio;                  /* the audio track number the "audio" pad carries */
  GstPad *audio_pads[ESTUARY_MAX_SLOTS];        /* request pads "audio_K" at slot 1 + K (object lock) */
  EstuaryBusSubscriber *sub;    /* kept after unsubscribing so the drop counters stay readable */

  /* set up in READY->PAUSED before the task starts, torn down after it is joined */
  GstPad *srcpads[ESTUARY_MAX_SLOTS];
  GstCaps *caps[ESTUARY_MAX_SLOTS];
  gchar *language[ESTUARY_MAX_SLOTS];
  GstFlowCombiner *combiner;
  GstTask *task;
  GRecMutex task_lock;
  gboolean flushing;            /* object lock: stopping, the task must not pause itself */

  /* streaming thread only */
  gboolean started;
  gboolean have_offset;
  GstClockTime offset;
  GstClockTime catch_up_until;  /* catch-up: bus time of the subscription; older data is squeezed */
  GstClockTime last_out[ESTUARY_MAX_SLOTS];       /* catch-up: last running time pushed per pad */
  gboolean discont[ESTUARY_MAX_SLOTS];
  guint64 seen_dropped;
};

GST_ELEMENT_REGISTER_DECLARE (estuarysrc);

G_END_DECLS

#endif /* __GST_ESTUARY_SRC_H__ */
