/* Estuary stream bus, internal API: the process-wide registry of published streams, per-stream tracks,
 * GOP cache and statistics, and the bounded subscriber queues with their drop-to-keyframe policy.
 * Used by estuarysink (publisher side) and estuarysrc (subscriber side); implemented in estuarybus.c
 * and estuarybussubscriber.c. The public C API lives in estuarystreambus.h.
 *
 * Locking order: registry lock -> stream lock -> subscriber lock. Never the reverse. The publisher holds
 * the stream lock only while it appends one item to the GOP cache and to each subscriber queue; it never
 * waits for a subscriber.
 */
#ifndef __ESTUARY_BUS_H__
#define __ESTUARY_BUS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum
{
  ESTUARY_MEDIA_OTHER = 0,
  ESTUARY_MEDIA_VIDEO,
  ESTUARY_MEDIA_AUDIO,
} EstuaryMediaType;

/* Audio tracks of a stream are numbered in track order: audio_0, audio_1, ... */
#define ESTUARY_MAX_AUDIO_TRACKS 8

/* Slots of a subscriber: estuarysrc exposes one pad per slot. VIDEO and AUDIO are its "video" and
 * "audio" pads (AUDIO carries the chosen audio track, audio_0 by default); slot 1 + K carries audio_K
 * on the request pad "audio_K" (K >= 1), for outputs that take every audio track. */
typedef enum
{
  ESTUARY_SLOT_VIDEO = 0,
  ESTUARY_SLOT_AUDIO = 1,
  ESTUARY_N_SLOTS = 2,          /* the slots of a plain subscriber */
  ESTUARY_MAX_SLOTS = 1 + ESTUARY_MAX_AUDIO_TRACKS,
} EstuarySlot;

typedef enum
{
  ESTUARY_BUS_ITEM_BUFFER,
  ESTUARY_BUS_ITEM_CAPS,
  ESTUARY_BUS_ITEM_EOS,
} EstuaryBusItemType;

/* One immutable entry, shared (refcounted) by the GOP cache and every subscriber queue.
 * Buffers carry absolute clock times (running time + publisher base time) in PTS/DTS. */
typedef struct
{
  gint refcount;
  EstuaryBusItemType type;
  guint track;
  GstBuffer *buffer;
  GstCaps *caps;
  gboolean keyframe;
  GstClockTime ts;              /* DTS if valid, else PTS; NONE for non-buffer items */
  gsize size;
} EstuaryBusItem;

typedef struct _EstuaryBusStream EstuaryBusStream;
typedef struct _EstuaryBusSubscriber EstuaryBusSubscriber;

EstuaryBusItem *estuary_bus_item_ref (EstuaryBusItem * item);
void estuary_bus_item_unref (EstuaryBusItem * item);

EstuaryMediaType estuary_media_type_from_caps (const GstCaps * caps);

/* Publisher side */
EstuaryBusStream *estuary_bus_publish (const gchar * name, guint64 gop_cache_max_bytes);
/* Like estuary_bus_publish, but a live stream of that name is taken over instead of refused: its
 * subscribers move to the new stream without an EOS, each slot waiting for the new publisher's track
 * of the same media type and resuming at its first keyframe; the old publisher's later unpublish
 * is then a no-op. For replacing a pipeline while its viewers stay (a reload). */
EstuaryBusStream *estuary_bus_publish_takeover (const gchar * name, guint64 gop_cache_max_bytes);
void estuary_bus_unpublish (EstuaryBusStream * stream);
EstuaryBusStream *estuary_bus_stream_ref (EstuaryBusStream * stream);
void estuary_bus_stream_unref (EstuaryBusStream * stream);
const gchar *estuary_bus_stream_get_name (EstuaryBusStream * stream);
guint estuary_bus_stream_add_track (EstuaryBusStream * stream);
void estuary_bus_stream_remove_track (EstuaryBusStream * stream, guint track);
gboolean estuary_bus_stream_set_caps (EstuaryBusStream * stream, guint track, GstCaps * caps);
void estuary_bus_stream_push_buffer (EstuaryBusStream * stream, guint track, GstBuffer * buffer);
/* The track's language (ISO 639 code, e.g. "eng"); NULL or "" clears it. */
void estuary_bus_stream_set_language (EstuaryBusStream * stream, guint track, const gchar * language);
void estuary_bus_stream_set_gop_cache_max_bytes (EstuaryBusStream * stream, guint64 max_bytes);
GstStructure *estuary_bus_stream_make_ready_structure (EstuaryBusStream * stream);

/* Subscriber side.
 * @slot_audio: for each slot s in [1, n_slots), the audio track number it carries (-1: none); slot 0
 * is the first video track. Fills caps_out[s] (NULL when the stream has no such track) and
 * language_out[s] (newly allocated, NULL when unknown) for every s < n_slots. */
EstuaryBusSubscriber *estuary_bus_subscribe (const gchar * name, guint64 max_queue_time,
    guint64 max_queue_bytes, GstElement * owner, guint n_slots, const gint * slot_audio,
    GstCaps ** caps_out, gchar ** language_out);
void estuary_bus_unsubscribe (EstuaryBusSubscriber * sub);
void estuary_bus_subscriber_unref (EstuaryBusSubscriber * sub);
EstuaryBusItem *estuary_bus_subscriber_pop (EstuaryBusSubscriber * sub);
void estuary_bus_subscriber_set_playing (EstuaryBusSubscriber * sub, gboolean playing);
gint estuary_bus_subscriber_track_slot (EstuaryBusSubscriber * sub, guint track);
GstClockTime estuary_bus_subscriber_get_start_ts (EstuaryBusSubscriber * sub);
void estuary_bus_subscriber_set_limits (EstuaryBusSubscriber * sub, guint64 max_queue_time,
    guint64 max_queue_bytes);
guint64 estuary_bus_subscriber_get_dropped_buffers (EstuaryBusSubscriber * sub);
guint64 estuary_bus_subscriber_get_dropped_bytes (EstuaryBusSubscriber * sub);

G_END_DECLS

#endif /* __ESTUARY_BUS_H__ */
