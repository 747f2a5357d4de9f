/* Estuary stream bus core: owns the process-wide stream registry, each stream's tracks, GOP cache,
 * statistics and fan-out to subscribers, and the public query API of estuarystreambus.h. Subscriber
 * queues are in estuarybussubscriber.c; no GstElement code lives here (see gstestuarysink.c and
 * gstestuarysrc.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "estuarybusprivate.h"
#include "estuarystreambus.h"

GST_DEBUG_CATEGORY (estuary_bus_debug);
#define GST_CAT_DEFAULT estuary_bus_debug

static GMutex registry_lock;
static GHashTable *registry;    /* name -> EstuaryBusStream* (one ref) */

static void
estuary_bus_init_once (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized)) {
    GST_DEBUG_CATEGORY_INIT (estuary_bus_debug, "estuarybus", 0, "Estuary stream bus");
    registry = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
        (GDestroyNotify) estuary_bus_stream_unref);
    g_once_init_leave (&initialized, 1);
  }
}

/* ---- items ---- */

static EstuaryBusItem *
estuary_bus_item_new (EstuaryBusItemType type, guint track)
{
  EstuaryBusItem *item = g_slice_new0 (EstuaryBusItem);

  item->refcount = 1;
  item->type = type;
  item->track = track;
  item->ts = GST_CLOCK_TIME_NONE;
  return item;
}

EstuaryBusItem *
estuary_bus_item_ref (EstuaryBusItem * item)
{
  g_atomic_int_inc (&item->refcount);
  return item;
}

void
estuary_bus_item_unref (EstuaryBusItem * item)
{
  if (!g_atomic_int_dec_and_test (&item->refcount))
    return;
  if (item->buffer)
    gst_buffer_unref (item->buffer);
  if (item->caps)
    gst_caps_unref (item->caps);
  g_slice_free (EstuaryBusItem, item);
}

EstuaryMediaType
estuary_media_type_from_caps (const GstCaps * caps)
{
  const gchar *name;

  if (caps == NULL || gst_caps_get_size (caps) == 0)
    return ESTUARY_MEDIA_OTHER;
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  if (g_str_has_prefix (name, "video/"))
    return ESTUARY_MEDIA_VIDEO;
  if (g_str_has_prefix (name, "audio/"))
    return ESTUARY_MEDIA_AUDIO;
  return ESTUARY_MEDIA_OTHER;
}

/* Delivers @item to every subscriber; called with the stream lock held. Returns the subscribers that
 * started a drop episode (referenced) so the caller can notify them after unlocking. */
static GSList *
stream_fan_out_locked (EstuaryBusStream * stream, EstuaryBusItem * item)
{
  GSList *notify = NULL;
  GList *l;

  for (l = stream->subscribers; l; l = l->next) {
    EstuaryBusSubscriber *sub = l->data;
    if (estuary_bus_subscriber_enqueue (sub, item, TRUE)) {
      g_atomic_int_inc (&sub->refcount);
      notify = g_slist_prepend (notify, sub);
    }
  }
  return notify;
}

static void
stream_notify_dropped (GSList * notify)
{
  GSList *l;

  for (l = notify; l; l = l->next) {
    estuary_bus_subscriber_post_dropped (l->data);
    estuary_bus_subscriber_unref (l->data);
  }
  g_slist_free (notify);
}

/* ---- streams ---- */

static void
estuary_bus_track_free (EstuaryBusTrack * track)
{
  gst_clear_caps (&track->caps);
  gst_clear_caps (&track->gop_caps);
  g_free (track->language);
  g_free (track);
}

static void
stream_clear_gop_locked (EstuaryBusStream * stream)
{
  g_queue_clear_full (&stream->gop, (GDestroyNotify) estuary_bus_item_unref);
  stream->gop_bytes = 0;
}

EstuaryBusStream *
estuary_bus_stream_ref (EstuaryBusStream * stream)
{
  g_atomic_int_inc (&stream->refcount);
  return stream;
}

void
estuary_bus_stream_unref (EstuaryBusStream * stream)
{
  if (!g_atomic_int_dec_and_test (&stream->refcount))
    return;
  g_assert (stream->subscribers == NULL);
  stream_clear_gop_locked (stream);
  g_ptr_array_unref (stream->tracks);
  g_mutex_clear (&stream->lock);
  g_free (stream->name);
  g_free (stream);
}

const gchar *
estuary_bus_stream_get_name (EstuaryBusStream * stream)
{
  return stream->name;
}

static EstuaryBusStream *
stream_new (const gchar * name, guint64 gop_cache_max_bytes)
{
  EstuaryBusStream *stream = g_new0 (EstuaryBusStream, 1);

  stream->refcount = 2;         /* the registry's and the publisher's */
  stream->name = g_strdup (name);
  g_mutex_init (&stream->lock);
  stream->live = TRUE;
  stream->tracks = g_ptr_array_new_with_free_func ((GDestroyNotify) estuary_bus_track_free);
  g_queue_init (&stream->gop);
  stream->gop_max_bytes = gop_cache_max_bytes;
  stream->last_keyframe_ts = GST_CLOCK_TIME_NONE;
  return stream;
}

EstuaryBusStream *
estuary_bus_publish (const gchar * name, guint64 gop_cache_max_bytes)
{
  EstuaryBusStream *stream;

  estuary_bus_init_once ();
  g_mutex_lock (&registry_lock);
  if (g_hash_table_contains (registry, name)) {
    g_mutex_unlock (&registry_lock);
    return NULL;
  }
  stream = stream_new (name, gop_cache_max_bytes);
  g_hash_table_insert (registry, stream->name, stream);
  g_mutex_unlock (&registry_lock);
  GST_INFO ("stream %s: published", name);
  return stream;
}

EstuaryBusStream *
estuary_bus_publish_takeover (const gchar * name, guint64 gop_cache_max_bytes)
{
  EstuaryBusStream *stream, *old;
  GList *subs, *l;
  guint moved = 0;
  gint s;

  estuary_bus_init_once ();
  g_mutex_lock (&registry_lock);
  old = g_hash_table_lookup (registry, name);
  stream = stream_new (name, gop_cache_max_bytes);
  subs = NULL;
  if (old) {
    /* registry lock -> old stream lock -> subscriber lock; the new stream is not visible yet */
    g_mutex_lock (&old->lock);
    old->live = FALSE;
    stream_clear_gop_locked (old);
    old->gop_valid = FALSE;
    subs = old->subscribers;
    old->subscribers = NULL;
    atomic_store (&old->n_subscribers, 0);
    for (l = subs; l; l = l->next) {
      EstuaryBusSubscriber *sub = l->data;
      g_mutex_lock (&sub->lock);
      sub->stream = estuary_bus_stream_ref (stream);
      for (s = 0; s < (gint) sub->n_slots; s++) {
        sub->remap[s] = sub->slot_track[s] >= 0;
        sub->slot_track[s] = -1;
      }
      sub->waiting_keyframe = TRUE;
      sub->dropping = FALSE;
      sub->floor_ts = sub->last_ts;
      g_mutex_unlock (&sub->lock);
      moved++;
    }
    g_mutex_unlock (&old->lock);
    estuary_bus_stream_ref (old);       /* the subscribers' refs, dropped below */
  }
  stream->subscribers = subs;
  atomic_store (&stream->n_subscribers, moved);
  g_hash_table_replace (registry, stream->name, stream);        /* drops the registry's ref to old */
  g_mutex_unlock (&registry_lock);
  if (old) {
    guint i;
    for (i = 0; i < moved; i++)
      estuary_bus_stream_unref (old);
    estuary_bus_stream_unref (old);
  }
  GST_INFO ("stream %s: published (took over %u subscribers)", name, moved);
  return stream;
}

void
estuary_bus_unpublish (EstuaryBusStream * stream)
{
  EstuaryBusItem *eos;
  GList *subs, *l;

  g_mutex_lock (&registry_lock);
  if (g_hash_table_lookup (registry, stream->name) == stream)
    g_hash_table_remove (registry, stream->name);       /* drops the registry's ref, not ours */
  g_mutex_unlock (&registry_lock);

  g_mutex_lock (&stream->lock);
  if (!stream->live) {
    g_mutex_unlock (&stream->lock);
    return;
  }
  stream->live = FALSE;
  stream_clear_gop_locked (stream);
  stream->gop_valid = FALSE;
  subs = stream->subscribers;
  stream->subscribers = NULL;
  atomic_store (&stream->n_subscribers, 0);
  eos = estuary_bus_item_new (ESTUARY_BUS_ITEM_EOS, 0);
  for (l = subs; l; l = l->next)
    estuary_bus_subscriber_enqueue (l->data, eos, FALSE);
  g_mutex_unlock (&stream->lock);

  estuary_bus_item_unref (eos);
  g_list_free_full (subs, (GDestroyNotify) estuary_bus_subscriber_unref);
  GST_INFO ("stream %s: unpublished", stream->name);
}

guint
estuary_bus_stream_add_track (EstuaryBusStream * stream)
{
  EstuaryBusTrack *track = g_new0 (EstuaryBusTrack, 1);
  guint id;

  g_mutex_lock (&stream->lock);
  id = stream->tracks->len;
  g_ptr_array_add (stream->tracks, track);
  g_mutex_unlock (&stream->lock);
  return id;
}

void
estuary_bus_stream_remove_track (EstuaryBusStream * stream, guint track)
{
  g_mutex_lock (&stream->lock);
  if (track < stream->tracks->len)
    ((EstuaryBusTrack *) g_ptr_array_index (stream->tracks, track))->released = TRUE;
  g_mutex_unlock (&stream->lock);
}

void
estuary_bus_stream_set_language (EstuaryBusStream * stream, guint track, const gchar * language)
{
  g_mutex_lock (&stream->lock);
  if (track < stream->tracks->len) {
    EstuaryBusTrack *t = g_ptr_array_index (stream->tracks, track);
    if (g_strcmp0 (t->language, language) != 0) {
      g_free (t->language);
      t->language = language && *language ? g_strdup (language) : NULL;
      GST_INFO ("stream %s: track %u language %s", stream->name, track, GST_STR_NULL (t->language));
    }
  }
  g_mutex_unlock (&stream->lock);
}

void
estuary_bus_stream_set_gop_cache_max_bytes (EstuaryBusStream * stream, guint64 max_bytes)
{
  g_mutex_lock (&stream->lock);
  stream->gop_max_bytes = max_bytes;
  g_mutex_unlock (&stream->lock);
}

EstuaryBusTrack *
estuary_bus_stream_first_track_locked (EstuaryBusStream * stream, EstuaryMediaType type, gint * id_out)
{
  guint i;

  for (i = 0; i < stream->tracks->len; i++) {
    EstuaryBusTrack *t = g_ptr_array_index (stream->tracks, i);
    if (!t->released && t->caps && t->type == type) {
      if (id_out)
        *id_out = i;
      return t;
    }
  }
  if (id_out)
    *id_out = -1;
  return NULL;
}

EstuaryBusTrack *
estuary_bus_stream_audio_track_locked (EstuaryBusStream * stream, gint n, gint * id_out)
{
  guint i;

  for (i = 0; i < stream->tracks->len && n >= 0; i++) {
    EstuaryBusTrack *t = g_ptr_array_index (stream->tracks, i);
    if (t->released || !t->caps || t->type != ESTUARY_MEDIA_AUDIO)
      continue;
    if (n-- == 0) {
      if (id_out)
        *id_out = i;
      return t;
    }
  }
  if (id_out)
    *id_out = -1;
  return NULL;
}

/* The audio track number of @track_id (tracks before it of type audio), -1 for other media. */
static gint
stream_audio_number_locked (EstuaryBusStream * stream, guint track_id)
{
  gint n = 0;
  guint i;

  for (i = 0; i < track_id; i++) {
    EstuaryBusTrack *t = g_ptr_array_index (stream->tracks, i);
    if (!t->released && t->caps && t->type == ESTUARY_MEDIA_AUDIO)
      n++;
  }
  return n;
}

/* Returns TRUE when this call made the stream ready (every track has caps). */
gboolean
estuary_bus_stream_set_caps (EstuaryBusStream * stream, guint track_id, GstCaps * caps)
{
  EstuaryBusTrack *track;
  EstuaryBusItem *item;
  gboolean became_ready = FALSE, had_video;
  GSList *notify;
  guint i;

  g_mutex_lock (&stream->lock);
  if (!stream->live || track_id >= stream->tracks->len) {
    g_mutex_unlock (&stream->lock);
    return FALSE;
  }
  track = g_ptr_array_index (stream->tracks, track_id);
  if (track->caps && gst_caps_is_equal (track->caps, caps)) {
    g_mutex_unlock (&stream->lock);
    return FALSE;
  }
  gst_caps_replace (&track->caps, caps);
  track->type = estuary_media_type_from_caps (caps);
  track->has_streamheader = gst_caps_get_size (caps) > 0 &&
      gst_structure_has_field (gst_caps_get_structure (caps, 0), "streamheader");
  GST_INFO ("stream %s: track %u caps %" GST_PTR_FORMAT, stream->name, track_id, caps);

  had_video = stream->has_video;
  stream->has_video = estuary_bus_stream_first_track_locked (stream, ESTUARY_MEDIA_VIDEO, NULL) != NULL;
  if (stream->has_video && !had_video) {
    /* The audio cached so far started "GOPs" of its own; with video, a GOP starts at a video
     * keyframe: a subscriber must not begin with audio alone and meet older video after it. */
    stream_clear_gop_locked (stream);
    stream->gop_valid = FALSE;
  }
  if (!stream->ready) {
    gboolean all = stream->tracks->len > 0;
    for (i = 0; i < stream->tracks->len; i++) {
      EstuaryBusTrack *t = g_ptr_array_index (stream->tracks, i);
      if (!t->released && t->caps == NULL)
        all = FALSE;
    }
    stream->ready = became_ready = all;
  }

  /* Subscribers moved here by a takeover adopt this track for the slot of its media type (an audio
   * slot: the one with the same audio track number). */
  if (track->type == ESTUARY_MEDIA_VIDEO || track->type == ESTUARY_MEDIA_AUDIO) {
    gint number = track->type == ESTUARY_MEDIA_AUDIO ? stream_audio_number_locked (stream, track_id) : -1;
    GList *l;
    for (l = stream->subscribers; l; l = l->next) {
      EstuaryBusSubscriber *sub = l->data;
      guint slot;
      for (slot = 0; slot < sub->n_slots; slot++) {
        gboolean fits = track->type == ESTUARY_MEDIA_VIDEO ? slot == ESTUARY_SLOT_VIDEO :
            slot != ESTUARY_SLOT_VIDEO && sub->slot_audio[slot] == number;
        if (fits && sub->remap[slot] && sub->slot_track[slot] < 0) {
          sub->slot_track[slot] = track_id;
          sub->remap[slot] = FALSE;
        }
      }
    }
  }

  item = estuary_bus_item_new (ESTUARY_BUS_ITEM_CAPS, track_id);
  item->caps = gst_caps_ref (caps);
  if (stream->gop_valid && !g_queue_is_empty (&stream->gop))
    g_queue_push_tail (&stream->gop, estuary_bus_item_ref (item));
  notify = stream_fan_out_locked (stream, item);
  g_mutex_unlock (&stream->lock);

  estuary_bus_item_unref (item);
  stream_notify_dropped (notify);
  return became_ready;
}

/* Takes ownership of @buffer, whose PTS/DTS are already absolute clock times. */
void
estuary_bus_stream_push_buffer (EstuaryBusStream * stream, guint track_id, GstBuffer * buffer)
{
  EstuaryBusTrack *track;
  EstuaryBusItem *item;
  gboolean header, keyframe = FALSE;
  GSList *notify;
  guint i;

  item = estuary_bus_item_new (ESTUARY_BUS_ITEM_BUFFER, track_id);
  item->buffer = buffer;
  item->size = gst_buffer_get_size (buffer);
  item->ts = GST_BUFFER_DTS_IS_VALID (buffer) ? GST_BUFFER_DTS (buffer) : GST_BUFFER_PTS (buffer);

  g_mutex_lock (&stream->lock);
  if (!stream->live || track_id >= stream->tracks->len) {
    g_mutex_unlock (&stream->lock);
    estuary_bus_item_unref (item);
    return;
  }
  track = g_ptr_array_index (stream->tracks, track_id);
  /* A HEADER buffer is not a keyframe when it only repeats the streamheader of the caps (flvmux,
   * oggmux, ...). h264parse/h265parse also flag as HEADER every IDR that carries in-band SPS/PPS:
   * those have no streamheader in their caps and are real keyframes. */
  header = GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_HEADER) && track->has_streamheader;
  if (track->type == ESTUARY_MEDIA_VIDEO) {
    keyframe = !header && !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    atomic_fetch_add_explicit (&stream->video_buffers, 1, memory_order_relaxed);
    atomic_fetch_add_explicit (&stream->video_bytes, item->size, memory_order_relaxed);
  } else if (track->type == ESTUARY_MEDIA_AUDIO) {
    keyframe = !header && !stream->has_video;
    atomic_fetch_add_explicit (&stream->audio_buffers, 1, memory_order_relaxed);
    atomic_fetch_add_explicit (&stream->audio_bytes, item->size, memory_order_relaxed);
  }
  item->keyframe = keyframe;

  if (keyframe) {
    atomic_fetch_add_explicit (&stream->keyframes, 1, memory_order_relaxed);
    if (GST_CLOCK_TIME_IS_VALID (stream->last_keyframe_ts) && item->ts > stream->last_keyframe_ts)
      atomic_store (&stream->keyframe_interval, item->ts - stream->last_keyframe_ts);
    stream->last_keyframe_ts = item->ts;

    /* a new GOP starts: remember each track's caps as they are now */
    stream_clear_gop_locked (stream);
    stream->gop_valid = TRUE;
    for (i = 0; i < stream->tracks->len; i++) {
      EstuaryBusTrack *t = g_ptr_array_index (stream->tracks, i);
      gst_caps_replace (&t->gop_caps, t->caps);
    }
  }
  if (stream->gop_valid) {
    g_queue_push_tail (&stream->gop, estuary_bus_item_ref (item));
    stream->gop_bytes += item->size;
    if (stream->gop_bytes > stream->gop_max_bytes) {
      GST_WARNING ("stream %s: GOP larger than %" G_GUINT64_FORMAT " bytes, not cached",
          stream->name, stream->gop_max_bytes);
      stream_clear_gop_locked (stream);
      stream->gop_valid = FALSE;
    }
  }

  notify = stream_fan_out_locked (stream, item);
  g_mutex_unlock (&stream->lock);

  estuary_bus_item_unref (item);
  stream_notify_dropped (notify);
}

GstStructure *
estuary_bus_stream_make_ready_structure (EstuaryBusStream * stream)
{
  EstuaryBusTrack *video, *audio;
  GstStructure *s;

  s = gst_structure_new ("estuary-stream-ready", "stream", G_TYPE_STRING, stream->name, NULL);
  g_mutex_lock (&stream->lock);
  video = estuary_bus_stream_first_track_locked (stream, ESTUARY_MEDIA_VIDEO, NULL);
  audio = estuary_bus_stream_first_track_locked (stream, ESTUARY_MEDIA_AUDIO, NULL);
  if (video)
    gst_structure_set (s, "video-caps", GST_TYPE_CAPS, video->caps, NULL);
  if (audio)
    gst_structure_set (s, "audio-caps", GST_TYPE_CAPS, audio->caps, NULL);
  g_mutex_unlock (&stream->lock);
  return s;
}

EstuaryBusStream *
estuary_bus_lookup (const gchar * name)
{
  EstuaryBusStream *stream;

  estuary_bus_init_once ();
  if (name == NULL)
    return NULL;
  g_mutex_lock (&registry_lock);
  stream = g_hash_table_lookup (registry, name);
  if (stream)
    estuary_bus_stream_ref (stream);
  g_mutex_unlock (&registry_lock);
  return stream;
}

/* ---- public query API (estuarystreambus.h) ---- */

gboolean
estuary_bus_stream_is_ready (const gchar * name)
{
  EstuaryBusStream *stream = estuary_bus_lookup (name);
  gboolean ready;

  if (stream == NULL)
    return FALSE;
  g_mutex_lock (&stream->lock);
  ready = stream->live && stream->ready;
  g_mutex_unlock (&stream->lock);
  estuary_bus_stream_unref (stream);
  return ready;
}

gboolean
estuary_bus_get_stats (const gchar * name, EstuaryBusStats * out)
{
  EstuaryBusStream *stream;

  g_return_val_if_fail (out != NULL, FALSE);
  memset (out, 0, sizeof (*out));
  stream = estuary_bus_lookup (name);
  if (stream == NULL)
    return FALSE;
  out->video_buffers = atomic_load (&stream->video_buffers);
  out->video_bytes = atomic_load (&stream->video_bytes);
  out->audio_buffers = atomic_load (&stream->audio_buffers);
  out->audio_bytes = atomic_load (&stream->audio_bytes);
  out->keyframes = atomic_load (&stream->keyframes);
  out->keyframe_interval_ns = atomic_load (&stream->keyframe_interval);
  out->subscribers = atomic_load (&stream->n_subscribers);
  g_mutex_lock (&stream->lock);
  out->gop_cache_bytes = stream->gop_bytes;
  out->gop_cache_max_bytes = stream->gop_max_bytes;
  for (GList * l = stream->subscribers; l != NULL; l = l->next) {
    EstuaryBusSubscriber *sub = l->data;
    g_mutex_lock (&sub->lock);
    out->queued_bytes += sub->queued_bytes;
    g_mutex_unlock (&sub->lock);
  }
  g_mutex_unlock (&stream->lock);
  estuary_bus_stream_unref (stream);
  return TRUE;
}

GstCaps *
estuary_bus_get_caps (const gchar * name, const gchar * media_type)
{
  EstuaryBusStream *stream;
  EstuaryBusTrack *track;
  EstuaryMediaType type;
  GstCaps *caps = NULL;

  if (g_strcmp0 (media_type, "video") == 0)
    type = ESTUARY_MEDIA_VIDEO;
  else if (g_strcmp0 (media_type, "audio") == 0)
    type = ESTUARY_MEDIA_AUDIO;
  else
    return NULL;

  stream = estuary_bus_lookup (name);
  if (stream == NULL)
    return NULL;
  g_mutex_lock (&stream->lock);
  track = estuary_bus_stream_first_track_locked (stream, type, NULL);
  if (track)
    caps = gst_caps_ref (track->caps);
  g_mutex_unlock (&stream->lock);
  estuary_bus_stream_unref (stream);
  return caps;
}

guint
estuary_bus_get_audio_tracks (const gchar * name, GstCaps ** caps_out, gchar ** language_out, guint max)
{
  EstuaryBusStream *stream = estuary_bus_lookup (name);
  guint n = 0;

  if (stream == NULL)
    return 0;
  g_mutex_lock (&stream->lock);
  for (; n < max; n++) {
    EstuaryBusTrack *t = estuary_bus_stream_audio_track_locked (stream, n, NULL);
    if (t == NULL)
      break;
    caps_out[n] = gst_caps_ref (t->caps);
    language_out[n] = g_strdup (t->language);
  }
  g_mutex_unlock (&stream->lock);
  estuary_bus_stream_unref (stream);
  return n;
}
