/* Estuary stream bus, private to estuarybus.c and estuarybussubscriber.c: the stream, track and
 * subscriber structures and the functions the two files share. */
#ifndef __ESTUARY_BUS_PRIVATE_H__
#define __ESTUARY_BUS_PRIVATE_H__

#include <stdatomic.h>

#include "estuarybus.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (estuary_bus_debug);

typedef struct
{
  EstuaryMediaType type;
  gboolean has_streamheader;    /* HEADER buffers then only repeat the caps' streamheader */
  GstCaps *caps;
  GstCaps *gop_caps;            /* caps at the start of the cached GOP */
  gboolean released;
  gchar *language;              /* ISO 639 code, NULL when unknown */
} EstuaryBusTrack;

struct _EstuaryBusStream
{
  gint refcount;
  gchar *name;

  GMutex lock;                  /* protects everything up to the stats */
  gboolean live;
  gboolean ready;
  gboolean has_video;
  GPtrArray *tracks;            /* EstuaryBusTrack*, index = track id */
  GQueue gop;                   /* EstuaryBusItem*, starts with a keyframe */
  guint64 gop_bytes;
  guint64 gop_max_bytes;
  gboolean gop_valid;           /* FALSE until a keyframe, and after an overflow */
  GList *subscribers;           /* EstuaryBusSubscriber*, owned */
  GstClockTime last_keyframe_ts;

  /* written under lock, read lock-free by the stats API */
  _Atomic guint64 video_buffers, video_bytes, audio_buffers, audio_bytes, keyframes;
  _Atomic guint64 keyframe_interval;
  _Atomic guint n_subscribers;
};

struct _EstuaryBusSubscriber
{
  gint refcount;
  EstuaryBusStream *stream;     /* owned */
  GWeakRef owner;               /* the estuarysrc, for messages */
  guint n_slots;                /* 2 unless audio_K request pads are used */
  gint slot_track[ESTUARY_MAX_SLOTS];
  gint slot_audio[ESTUARY_MAX_SLOTS];  /* audio track number a slot carries (-1: none / video) */
  gboolean remap[ESTUARY_MAX_SLOTS];   /* moved by a takeover: the slot takes the next track of its type */
  GstClockTime last_ts;         /* latest buffer timestamp queued (under lock) */
  GstClockTime floor_ts;        /* after a takeover: buffers at or before this are dropped (under lock) */
  GstClockTime start_ts;        /* smallest timestamp of the snapshot */

  GMutex lock;                  /* protects the queue state below */
  GCond cond;
  GQueue queue;
  guint64 queued_bytes;
  guint64 max_time;
  guint64 max_bytes;
  gboolean waiting_keyframe;
  gboolean dropping;            /* waiting because of an overflow: count what is dropped */
  gboolean episode_active;      /* overflowed and nothing popped since */
  gboolean flushing;
  gboolean playing;

  _Atomic guint64 dropped_buffers, dropped_bytes;
};

EstuaryBusStream *estuary_bus_lookup (const gchar * name);
EstuaryBusTrack *estuary_bus_stream_first_track_locked (EstuaryBusStream * stream,
    EstuaryMediaType type, gint * id_out);
/* The audio track number @n (0-based, in track order, tracks with caps only). */
EstuaryBusTrack *estuary_bus_stream_audio_track_locked (EstuaryBusStream * stream, gint n,
    gint * id_out);
gboolean estuary_bus_subscriber_enqueue (EstuaryBusSubscriber * sub, EstuaryBusItem * item,
    gboolean check_limits);
void estuary_bus_subscriber_post_dropped (EstuaryBusSubscriber * sub);

G_END_DECLS

#endif /* __ESTUARY_BUS_PRIVATE_H__ */
