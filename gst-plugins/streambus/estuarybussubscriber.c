/* Estuary stream bus subscribers: owns a subscriber's bounded queue and its drop-to-keyframe policy,
 * the atomic subscribe (GOP snapshot + registration under one lock), and the blocking pop used by
 * estuarysrc's streaming task. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "estuarybusprivate.h"

#define GST_CAT_DEFAULT estuary_bus_debug

/* ---- subscriber queue (called with the stream lock held) ---- */

static GstClockTime
subscriber_head_ts (EstuaryBusSubscriber * sub)
{
  GList *l;

  for (l = sub->queue.head; l; l = l->next) {
    EstuaryBusItem *item = l->data;
    if (GST_CLOCK_TIME_IS_VALID (item->ts))
      return item->ts;
  }
  return GST_CLOCK_TIME_NONE;
}

static gboolean
subscriber_would_overflow (EstuaryBusSubscriber * sub, EstuaryBusItem * item)
{
  GstClockTime head;

  if (g_queue_is_empty (&sub->queue))
    return FALSE;
  if (sub->queued_bytes + item->size > sub->max_bytes)
    return TRUE;
  head = subscriber_head_ts (sub);
  return GST_CLOCK_TIME_IS_VALID (head) && GST_CLOCK_TIME_IS_VALID (item->ts)
      && item->ts > head && item->ts - head > sub->max_time;
}

/* Drops every queued buffer; caps and EOS items stay so that the pads stay consistent. */
static void
subscriber_drop_queued (EstuaryBusSubscriber * sub)
{
  GQueue keep = G_QUEUE_INIT;
  EstuaryBusItem *item;

  while ((item = g_queue_pop_head (&sub->queue))) {
    if (item->type == ESTUARY_BUS_ITEM_BUFFER) {
      atomic_fetch_add_explicit (&sub->dropped_buffers, 1, memory_order_relaxed);
      atomic_fetch_add_explicit (&sub->dropped_bytes, item->size, memory_order_relaxed);
      estuary_bus_item_unref (item);
    } else {
      g_queue_push_tail (&keep, item);
    }
  }
  sub->queue = keep;
  sub->queued_bytes = 0;
}

static void
subscriber_push_locked (EstuaryBusSubscriber * sub, EstuaryBusItem * item)
{
  if (item->type == ESTUARY_BUS_ITEM_BUFFER && GST_CLOCK_TIME_IS_VALID (item->ts) &&
      (!GST_CLOCK_TIME_IS_VALID (sub->last_ts) || item->ts > sub->last_ts))
    sub->last_ts = item->ts;
  g_queue_push_tail (&sub->queue, estuary_bus_item_ref (item));
  sub->queued_bytes += item->size;
  g_cond_signal (&sub->cond);
}

/* Returns TRUE when this item started a new drop episode (the caller posts the message). */
gboolean
estuary_bus_subscriber_enqueue (EstuaryBusSubscriber * sub, EstuaryBusItem * item,
    gboolean check_limits)
{
  gboolean new_episode = FALSE;
  gboolean wanted = TRUE;

  if (item->type != ESTUARY_BUS_ITEM_EOS) {
    guint s;
    wanted = (gint) item->track == sub->slot_track[ESTUARY_SLOT_VIDEO] ||
        (gint) item->track == sub->slot_track[ESTUARY_SLOT_AUDIO];
    for (s = ESTUARY_N_SLOTS; s < sub->n_slots && !wanted; s++)
      wanted = (gint) item->track == sub->slot_track[s];
  }
  if (!wanted)
    return FALSE;

  g_mutex_lock (&sub->lock);
  if (sub->flushing)
    goto done;

  if (item->type == ESTUARY_BUS_ITEM_BUFFER) {
    /* After a takeover the new publisher starts from its own source's GOP cache: what is not newer
     * than what this subscriber already had would run time backwards downstream. It resumes at a
     * video keyframe (when it has a video slot). */
    if (GST_CLOCK_TIME_IS_VALID (sub->floor_ts)) {
      gboolean video = (gint) item->track == sub->slot_track[ESTUARY_SLOT_VIDEO];
      gboolean has_video = sub->slot_track[ESTUARY_SLOT_VIDEO] >= 0 || sub->remap[ESTUARY_SLOT_VIDEO];
      if (!GST_CLOCK_TIME_IS_VALID (item->ts) || item->ts <= sub->floor_ts)
        goto done;
      if (sub->waiting_keyframe && has_video && !(video && item->keyframe))
        goto done;
      if (!has_video)
        sub->waiting_keyframe = FALSE;
    }
    if (sub->waiting_keyframe) {
      if (!item->keyframe) {
        if (sub->dropping) {
          atomic_fetch_add_explicit (&sub->dropped_buffers, 1, memory_order_relaxed);
          atomic_fetch_add_explicit (&sub->dropped_bytes, item->size, memory_order_relaxed);
        }
        goto done;
      }
      GST_LOG ("stream %s: subscriber resumes at keyframe %" GST_TIME_FORMAT,
          sub->stream->name, GST_TIME_ARGS (item->ts));
      sub->waiting_keyframe = FALSE;
      sub->dropping = FALSE;
    }

    if (check_limits && subscriber_would_overflow (sub, item)) {
      GST_DEBUG ("stream %s: subscriber queue overflow (%" G_GUINT64_FORMAT " bytes), dropping to "
          "the next keyframe", sub->stream->name, sub->queued_bytes);
      subscriber_drop_queued (sub);
      if (!sub->episode_active) {
        sub->episode_active = TRUE;
        new_episode = TRUE;
      }
      if (!item->keyframe) {
        atomic_fetch_add_explicit (&sub->dropped_buffers, 1, memory_order_relaxed);
        atomic_fetch_add_explicit (&sub->dropped_bytes, item->size, memory_order_relaxed);
        sub->waiting_keyframe = TRUE;
        sub->dropping = TRUE;
        goto done;
      }
    }
  }
  subscriber_push_locked (sub, item);

done:
  g_mutex_unlock (&sub->lock);
  return new_episode;
}

void
estuary_bus_subscriber_post_dropped (EstuaryBusSubscriber * sub)
{
  GstElement *owner = g_weak_ref_get (&sub->owner);
  GstStructure *s;

  if (owner == NULL)
    return;
  GST_WARNING_OBJECT (owner, "stream %s: subscriber too slow, dropping to the next keyframe",
      sub->stream->name);
  s = gst_structure_new ("estuary-subscriber-dropped",
      "stream", G_TYPE_STRING, sub->stream->name,
      "dropped-buffers", G_TYPE_UINT64, estuary_bus_subscriber_get_dropped_buffers (sub),
      "dropped-bytes", G_TYPE_UINT64, estuary_bus_subscriber_get_dropped_bytes (sub), NULL);
  gst_element_post_message (owner, gst_message_new_element (GST_OBJECT_CAST (owner), s));
  gst_object_unref (owner);
}

/* ---- subscribers ---- */

/* Snapshot (track caps + GOP cache) and registration happen under one stream lock, so the new
 * subscriber sees every item exactly once: cached items first, then live ones. */
EstuaryBusSubscriber *
estuary_bus_subscribe (const gchar * name, guint64 max_queue_time, guint64 max_queue_bytes,
    GstElement * owner, guint n_slots, const gint * slot_audio, GstCaps ** caps_out,
    gchar ** language_out)
{
  EstuaryBusStream *stream;
  EstuaryBusSubscriber *sub;
  EstuaryBusTrack *tracks[ESTUARY_MAX_SLOTS];
  gboolean use_gop;
  GList *l;
  gint s;

  g_return_val_if_fail (n_slots >= 1 && n_slots <= ESTUARY_MAX_SLOTS, NULL);
  stream = estuary_bus_lookup (name);
  if (stream == NULL)
    return NULL;

  g_mutex_lock (&stream->lock);
  if (!stream->live || !stream->ready) {
    g_mutex_unlock (&stream->lock);
    estuary_bus_stream_unref (stream);
    return NULL;
  }

  sub = g_new0 (EstuaryBusSubscriber, 1);
  sub->refcount = 2;            /* the stream's list and the caller */
  sub->stream = stream;         /* adopts the lookup ref */
  g_weak_ref_init (&sub->owner, owner);
  g_mutex_init (&sub->lock);
  g_cond_init (&sub->cond);
  g_queue_init (&sub->queue);
  sub->max_time = max_queue_time;
  sub->max_bytes = max_queue_bytes;
  sub->start_ts = GST_CLOCK_TIME_NONE;
  sub->last_ts = GST_CLOCK_TIME_NONE;
  sub->floor_ts = GST_CLOCK_TIME_NONE;

  sub->n_slots = n_slots;
  for (s = 0; s < ESTUARY_MAX_SLOTS; s++) {
    sub->slot_track[s] = -1;
    sub->slot_audio[s] = s > 0 && s < (gint) n_slots ? slot_audio[s] : -1;
    tracks[s] = NULL;
  }
  tracks[ESTUARY_SLOT_VIDEO] = estuary_bus_stream_first_track_locked (stream, ESTUARY_MEDIA_VIDEO,
      &sub->slot_track[ESTUARY_SLOT_VIDEO]);
  for (s = 1; s < (gint) n_slots; s++)
    if (sub->slot_audio[s] >= 0)
      tracks[s] = estuary_bus_stream_audio_track_locked (stream, sub->slot_audio[s],
          &sub->slot_track[s]);

  use_gop = stream->gop_valid && !g_queue_is_empty (&stream->gop);
  for (s = 0; s < (gint) n_slots; s++) {
    GstCaps *caps = NULL;
    if (tracks[s])
      caps = use_gop && tracks[s]->gop_caps ? tracks[s]->gop_caps : tracks[s]->caps;
    caps_out[s] = caps ? gst_caps_ref (caps) : NULL;
    if (language_out)
      language_out[s] = tracks[s] ? g_strdup (tracks[s]->language) : NULL;
  }

  sub->waiting_keyframe = !use_gop;
  if (use_gop) {
    for (l = stream->gop.head; l; l = l->next) {
      EstuaryBusItem *item = l->data;
      estuary_bus_subscriber_enqueue (sub, item, FALSE);
      if (item->type == ESTUARY_BUS_ITEM_BUFFER && GST_CLOCK_TIME_IS_VALID (item->ts) &&
          (!GST_CLOCK_TIME_IS_VALID (sub->start_ts) || item->ts < sub->start_ts))
        sub->start_ts = item->ts;
    }
  }
  stream->subscribers = g_list_append (stream->subscribers, sub);
  atomic_fetch_add (&stream->n_subscribers, 1);
  GST_INFO ("stream %s: subscribed (video track %d, audio track %d, %u cached items)",
      stream->name, sub->slot_track[ESTUARY_SLOT_VIDEO], sub->slot_track[ESTUARY_SLOT_AUDIO],
      g_queue_get_length (&sub->queue));
  g_mutex_unlock (&stream->lock);
  return sub;
}

void
estuary_bus_unsubscribe (EstuaryBusSubscriber * sub)
{
  EstuaryBusStream *stream = sub->stream;
  GList *link;

  g_mutex_lock (&sub->lock);
  sub->flushing = TRUE;
  g_cond_broadcast (&sub->cond);
  g_mutex_unlock (&sub->lock);

  g_mutex_lock (&stream->lock);
  link = g_list_find (stream->subscribers, sub);
  if (link) {
    stream->subscribers = g_list_delete_link (stream->subscribers, link);
    atomic_fetch_sub (&stream->n_subscribers, 1);
  }
  g_mutex_unlock (&stream->lock);
  if (link)
    estuary_bus_subscriber_unref (sub);
}

void
estuary_bus_subscriber_unref (EstuaryBusSubscriber * sub)
{
  if (!g_atomic_int_dec_and_test (&sub->refcount))
    return;
  g_queue_clear_full (&sub->queue, (GDestroyNotify) estuary_bus_item_unref);
  g_weak_ref_clear (&sub->owner);
  g_mutex_clear (&sub->lock);
  g_cond_clear (&sub->cond);
  estuary_bus_stream_unref (sub->stream);
  g_free (sub);
}

/* Blocks until an item is available and the subscriber is playing; NULL when flushing. */
EstuaryBusItem *
estuary_bus_subscriber_pop (EstuaryBusSubscriber * sub)
{
  EstuaryBusItem *item = NULL;

  g_mutex_lock (&sub->lock);
  while (!sub->flushing && (!sub->playing || g_queue_is_empty (&sub->queue)))
    g_cond_wait (&sub->cond, &sub->lock);
  if (!sub->flushing) {
    item = g_queue_pop_head (&sub->queue);
    sub->queued_bytes -= item->size;
    sub->episode_active = FALSE;
  }
  g_mutex_unlock (&sub->lock);
  return item;
}

void
estuary_bus_subscriber_set_playing (EstuaryBusSubscriber * sub, gboolean playing)
{
  g_mutex_lock (&sub->lock);
  sub->playing = playing;
  g_cond_broadcast (&sub->cond);
  g_mutex_unlock (&sub->lock);
}

void
estuary_bus_subscriber_set_limits (EstuaryBusSubscriber * sub, guint64 max_queue_time,
    guint64 max_queue_bytes)
{
  g_mutex_lock (&sub->lock);
  sub->max_time = max_queue_time;
  sub->max_bytes = max_queue_bytes;
  g_mutex_unlock (&sub->lock);
}

gint
estuary_bus_subscriber_track_slot (EstuaryBusSubscriber * sub, guint track)
{
  gint s;

  for (s = 0; s < (gint) sub->n_slots; s++)
    if (sub->slot_track[s] == (gint) track)
      return s;
  return -1;
}

GstClockTime
estuary_bus_subscriber_get_start_ts (EstuaryBusSubscriber * sub)
{
  return sub->start_ts;
}

guint64
estuary_bus_subscriber_get_dropped_buffers (EstuaryBusSubscriber * sub)
{
  return atomic_load_explicit (&sub->dropped_buffers, memory_order_relaxed);
}

guint64
estuary_bus_subscriber_get_dropped_bytes (EstuaryBusSubscriber * sub)
{
  return atomic_load_explicit (&sub->dropped_bytes, memory_order_relaxed);
}

