/* Estuary stream bus, public C API: static registration of the "estuary" plugin (estuarysink,
 * estuarysrc) and thread-safe queries on published streams for the C++ supervisor. */
#ifndef __ESTUARY_STREAMBUS_H__
#define __ESTUARY_STREAMBUS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * estuary_streambus_register_static:
 *
 * Registers the "estuary" plugin (estuarysink, estuarysrc) with the default registry. Call after
 * gst_init(). Idempotent and thread-safe.
 */
void estuary_streambus_register_static (void);

/**
 * EstuaryBusStats:
 *
 * Counters of one published stream since it was published.
 */
typedef struct
{
  guint64 video_buffers, video_bytes, audio_buffers, audio_bytes, keyframes;
  guint64 keyframe_interval_ns;         /* between the last two keyframes, 0 if unknown */
  guint subscribers;
  /* memory held now: the GOP cache (and its cap) and every subscriber's queue */
  guint64 gop_cache_bytes, gop_cache_max_bytes, queued_bytes;
} EstuaryBusStats;

/* TRUE if @name has a live publisher and every one of its tracks has caps. */
gboolean estuary_bus_stream_is_ready (const gchar * name);

/* Fills @out and returns TRUE if @name has a live publisher. */
gboolean estuary_bus_get_stats (const gchar * name, EstuaryBusStats * out);

/* Latest caps of the first track of @media_type ("video" or "audio"); transfer full, NULL if none. */
GstCaps *estuary_bus_get_caps (const gchar * name, const gchar * media_type);

/* The audio tracks of @name in order (audio_0, audio_1, ...), at most @max: fills caps_out[i]
 * (transfer full) and language_out[i] (newly allocated, NULL when unknown); returns the count. */
guint estuary_bus_get_audio_tracks (const gchar * name, GstCaps ** caps_out, gchar ** language_out,
    guint max);

G_END_DECLS

#endif /* __ESTUARY_STREAMBUS_H__ */
