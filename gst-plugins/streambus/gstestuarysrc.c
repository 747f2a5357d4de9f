/* estuarysrc: subscribes to a stream of the process-wide Estuary stream bus and pushes its first video
 * and its chosen audio track (#GstEstuarySrc:audio) on the sometimes pads "video" and "audio", and the
 * audio track K on a requested pad "audio_K". Owns the subscriber's lifetime
 * (subscribe on READY->PAUSED, unsubscribe on PAUSED->READY), its streaming task, and the rebasing of
 * the bus's absolute timestamps onto this pipeline's running time. */

/**
 * SECTION:element-estuarysrc
 * @title: estuarysrc
 * @see_also: estuarysink
 *
 * A live source that subscribes to a stream published by an estuarysink in the same process. It
 * starts with the cached GOP of the stream (so the first video buffer is a keyframe) and then
 * follows live data. Its queue is bounded by #GstEstuarySrc:max-queue-time and
 * #GstEstuarySrc:max-queue-bytes: when downstream is too slow, everything queued is dropped and
 * data is skipped up to the next keyframe; an element message `estuary-subscriber-dropped` is
 * posted once per such episode. A failing downstream only affects this element's pipeline.
 *
 * A stream may carry several audio tracks (audio_0, audio_1, ...: languages, commentary). The
 * "audio" pad carries the one #GstEstuarySrc:audio selects; an output that takes every track requests
 * the pads "audio_1", "audio_2", ... (as `src.audio_1` in a launch line). A track's language, when the
 * publisher knows it, goes downstream as a GST_TAG_LANGUAGE_CODE stream tag.
 *
 * One streaming thread feeds every pad, so, as after a demuxer, put a queue on each branch when
 * both pads are used (otherwise the sinks cannot preroll).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 estuarysrc stream=live/test name=s \
 *     s.video ! queue ! h264parse ! fakesink  s.audio ! queue ! aacparse ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "gstestuarysrc.h"

GST_DEBUG_CATEGORY_STATIC (gst_estuary_src_debug);
#define GST_CAT_DEFAULT gst_estuary_src_debug

#define DEFAULT_MAX_QUEUE_TIME (3 * GST_SECOND)
#define DEFAULT_MAX_QUEUE_BYTES (16 * 1024 * 1024)

enum
{
  PROP_0,
  PROP_STREAM,
  PROP_MAX_QUEUE_TIME,
  PROP_MAX_QUEUE_BYTES,
  PROP_CATCH_UP,
  PROP_AUDIO,
  PROP_DROPPED_BUFFERS,
  PROP_DROPPED_BYTES,
};

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE ("video",
    GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS_ANY);

static GstStaticPadTemplate audio_request_template = GST_STATIC_PAD_TEMPLATE ("audio_%u",
    GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS_ANY);

static const gchar *
slot_name (GstEstuarySrc * self, gint slot)
{
  if (slot == ESTUARY_SLOT_VIDEO)
    return "video";
  if (slot == ESTUARY_SLOT_AUDIO)
    return "audio";
  return self->srcpads[slot] ? GST_PAD_NAME (self->srcpads[slot]) : "audio_?";
}

#define gst_estuary_src_parent_class parent_class
G_DEFINE_TYPE (GstEstuarySrc, gst_estuary_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (estuarysrc, "estuarysrc", GST_RANK_NONE,
    GST_TYPE_ESTUARY_SRC, GST_DEBUG_CATEGORY_INIT (gst_estuary_src_debug, "estuarysrc", 0,
        "Estuary stream bus source"));

static void gst_estuary_src_finalize (GObject * object);
static void gst_estuary_src_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_estuary_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static GstStateChangeReturn gst_estuary_src_change_state (GstElement * element,
    GstStateChange transition);
static void gst_estuary_src_loop (gpointer user_data);
static GstPad *gst_estuary_src_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps);
static void gst_estuary_src_release_pad (GstElement * element, GstPad * pad);

static void
gst_estuary_src_class_init (GstEstuarySrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_estuary_src_finalize;
  gobject_class->set_property = gst_estuary_src_set_property;
  gobject_class->get_property = gst_estuary_src_get_property;

  g_object_class_install_property (gobject_class, PROP_STREAM,
      g_param_spec_string ("stream", "Stream", "Name of the stream to subscribe to (e.g. live/test)",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE_TIME,
      g_param_spec_uint64 ("max-queue-time", "Max queue time",
          "Largest span of queued data (ns) before dropping to the next keyframe", 0, G_MAXUINT64,
          DEFAULT_MAX_QUEUE_TIME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE_BYTES,
      g_param_spec_uint ("max-queue-bytes", "Max queue bytes",
          "Largest amount of queued data (bytes) before dropping to the next keyframe", 0,
          G_MAXUINT, DEFAULT_MAX_QUEUE_BYTES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /* For clock-synchronised consumers (webrtcbin, RTP): without it the GOP cache is played at its
   * own pace and the viewer stays as far behind live as the cache was long. */
  g_object_class_install_property (gobject_class, PROP_CATCH_UP,
      g_param_spec_boolean ("catch-up", "Catch up",
          "Keep live timing: data older than the subscription (the GOP cache) is retimed 1 ms "
          "apart so it is shown at once, and old audio is dropped", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_AUDIO,
      g_param_spec_uint ("audio", "Audio track",
          "The audio track (0 = the first) the \"audio\" pad carries; a stream without it is an error",
          0, ESTUARY_MAX_AUDIO_TRACKS - 1, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_DROPPED_BUFFERS,
      g_param_spec_uint64 ("dropped-buffers", "Dropped buffers",
          "Buffers dropped because this subscriber was too slow", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_DROPPED_BYTES,
      g_param_spec_uint64 ("dropped-bytes", "Dropped bytes",
          "Bytes dropped because this subscriber was too slow", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &video_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_add_static_pad_template (element_class, &audio_request_template);
  gst_element_class_set_static_metadata (element_class, "Estuary stream bus source", "Source",
      "Subscribes to a stream of the process-wide Estuary stream bus", "Estuary");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_estuary_src_change_state);
  element_class->request_new_pad = GST_DEBUG_FUNCPTR (gst_estuary_src_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_estuary_src_release_pad);
}

static void
gst_estuary_src_init (GstEstuarySrc * self)
{
  g_mutex_init (&self->lock);
  g_rec_mutex_init (&self->task_lock);
  self->max_queue_time = DEFAULT_MAX_QUEUE_TIME;
  self->max_queue_bytes = DEFAULT_MAX_QUEUE_BYTES;
  self->combiner = gst_flow_combiner_new ();
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}

static void
gst_estuary_src_finalize (GObject * object)
{
  GstEstuarySrc *self = GST_ESTUARY_SRC (object);

  if (self->sub) {
    estuary_bus_unsubscribe (self->sub);
    estuary_bus_subscriber_unref (self->sub);
  }
  gst_flow_combiner_free (self->combiner);
  g_free (self->stream_name);
  g_rec_mutex_clear (&self->task_lock);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_estuary_src_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstEstuarySrc *self = GST_ESTUARY_SRC (object);

  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_STREAM:
      g_free (self->stream_name);
      self->stream_name = g_value_dup_string (value);
      break;
    case PROP_MAX_QUEUE_TIME:
      self->max_queue_time = g_value_get_uint64 (value);
      break;
    case PROP_MAX_QUEUE_BYTES:
      self->max_queue_bytes = g_value_get_uint (value);
      break;
    case PROP_CATCH_UP:
      self->catch_up = g_value_get_boolean (value);
      break;
    case PROP_AUDIO:
      self->audio = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  if (self->sub && (prop_id == PROP_MAX_QUEUE_TIME || prop_id == PROP_MAX_QUEUE_BYTES))
    estuary_bus_subscriber_set_limits (self->sub, self->max_queue_time, self->max_queue_bytes);
  g_mutex_unlock (&self->lock);
}

static void
gst_estuary_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstEstuarySrc *self = GST_ESTUARY_SRC (object);

  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_STREAM:
      g_value_set_string (value, self->stream_name);
      break;
    case PROP_MAX_QUEUE_TIME:
      g_value_set_uint64 (value, self->max_queue_time);
      break;
    case PROP_MAX_QUEUE_BYTES:
      g_value_set_uint (value, self->max_queue_bytes);
      break;
    case PROP_CATCH_UP:
      g_value_set_boolean (value, self->catch_up);
      break;
    case PROP_AUDIO:
      g_value_set_uint (value, self->audio);
      break;
    case PROP_DROPPED_BUFFERS:
      g_value_set_uint64 (value, self->sub ? estuary_bus_subscriber_get_dropped_buffers (self->sub)
          : 0);
      break;
    case PROP_DROPPED_BYTES:
      g_value_set_uint64 (value, self->sub ? estuary_bus_subscriber_get_dropped_bytes (self->sub)
          : 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

/* ---- pads ---- */

static gboolean
gst_estuary_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstEstuarySrc *self = GST_ESTUARY_SRC (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_LATENCY:
      /* live, and data is pushed as soon as it is published */
      gst_query_set_latency (query, TRUE, 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    case GST_QUERY_CAPS:{
      GstCaps *filter, *caps = NULL;
      gint s;
      GST_OBJECT_LOCK (self);
      for (s = 0; s < ESTUARY_MAX_SLOTS; s++)
        if (self->srcpads[s] == pad && self->caps[s])
          caps = gst_caps_ref (self->caps[s]);
      GST_OBJECT_UNLOCK (self);
      if (caps == NULL)
        return gst_pad_query_default (pad, parent, query);
      gst_query_parse_caps (query, &filter);
      if (filter) {
        GstCaps *tmp = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref (caps);
        caps = tmp;
      }
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
gst_estuary_src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  gboolean ret;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_RECONFIGURE:
    case GST_EVENT_LATENCY:
    case GST_EVENT_QOS:
      ret = TRUE;
      break;
    default:
      /* no seeking in a live bus, and nothing upstream to forward to */
      ret = FALSE;
      break;
  }
  gst_event_unref (event);
  return ret;
}

static void
gst_estuary_src_add_pads (GstEstuarySrc * self)
{
  gint s;

  gst_flow_combiner_clear (self->combiner);
  for (s = ESTUARY_N_SLOTS; s < ESTUARY_MAX_SLOTS; s++) {
    if (self->srcpads[s] == NULL)
      continue;
    gst_pad_set_active (self->srcpads[s], TRUE);
    self->discont[s] = TRUE;
    gst_flow_combiner_add_pad (self->combiner, self->srcpads[s]);
  }
  for (s = 0; s < ESTUARY_N_SLOTS; s++) {
    GstPad *pad;
    if (self->caps[s] == NULL)
      continue;
    pad = gst_pad_new_from_static_template (s == ESTUARY_SLOT_VIDEO ? &video_template :
        &audio_template, slot_name (self, s));
    gst_pad_set_query_function (pad, GST_DEBUG_FUNCPTR (gst_estuary_src_query));
    gst_pad_set_event_function (pad, GST_DEBUG_FUNCPTR (gst_estuary_src_event));
    gst_pad_use_fixed_caps (pad);
    gst_pad_set_active (pad, TRUE);
    self->srcpads[s] = gst_object_ref (pad);
    self->discont[s] = TRUE;
    gst_flow_combiner_add_pad (self->combiner, pad);
    gst_element_add_pad (GST_ELEMENT (self), pad);
  }
  gst_element_no_more_pads (GST_ELEMENT (self));
}

static void
gst_estuary_src_remove_pads (GstEstuarySrc * self)
{
  gint s;

  gst_flow_combiner_clear (self->combiner);
  for (s = 0; s < ESTUARY_MAX_SLOTS; s++) {
    if (self->srcpads[s] && s < ESTUARY_N_SLOTS) {
      gst_pad_set_active (self->srcpads[s], FALSE);
      gst_element_remove_pad (GST_ELEMENT (self), self->srcpads[s]);
    }
    gst_clear_object (&self->srcpads[s]);
    GST_OBJECT_LOCK (self);
    gst_clear_caps (&self->caps[s]);
    g_clear_pointer (&self->language[s], g_free);
    GST_OBJECT_UNLOCK (self);
  }
}

/* ---- subscribe / unsubscribe ---- */

/* ---- request pads audio_K ---- */

static GstPad *
gst_estuary_src_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * req_name, const GstCaps * caps)
{
  GstEstuarySrc *self = GST_ESTUARY_SRC (element);
  GstPad *pad;
  guint k = 0;

  if (req_name == NULL || sscanf (req_name, "audio_%u", &k) != 1 || k < 1
      || k >= ESTUARY_MAX_AUDIO_TRACKS) {
    GST_WARNING_OBJECT (self, "request pad name %s: expected audio_1 ... audio_%d",
        GST_STR_NULL (req_name), ESTUARY_MAX_AUDIO_TRACKS - 1);
    return NULL;
  }
  if (GST_STATE (self) > GST_STATE_READY) {
    GST_WARNING_OBJECT (self, "audio_%u requested while streaming", k);
    return NULL;
  }
  GST_OBJECT_LOCK (self);
  if (self->audio_pads[1 + k]) {
    GST_OBJECT_UNLOCK (self);
    return NULL;
  }
  GST_OBJECT_UNLOCK (self);
  pad = gst_pad_new_from_template (templ, req_name);
  gst_pad_set_query_function (pad, GST_DEBUG_FUNCPTR (gst_estuary_src_query));
  gst_pad_set_event_function (pad, GST_DEBUG_FUNCPTR (gst_estuary_src_event));
  gst_pad_use_fixed_caps (pad);
  GST_OBJECT_LOCK (self);
  self->audio_pads[1 + k] = pad;
  GST_OBJECT_UNLOCK (self);
  gst_element_add_pad (element, pad);
  return pad;
}

static void
gst_estuary_src_release_pad (GstElement * element, GstPad * pad)
{
  GstEstuarySrc *self = GST_ESTUARY_SRC (element);
  gint s;

  GST_OBJECT_LOCK (self);
  for (s = ESTUARY_N_SLOTS; s < ESTUARY_MAX_SLOTS; s++)
    if (self->audio_pads[s] == pad)
      self->audio_pads[s] = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_element_remove_pad (element, pad);
}

/* Fills the wanted audio track number of each slot; returns the number of slots. */
static guint
gst_estuary_src_slots (GstEstuarySrc * self, gint slot_audio[ESTUARY_MAX_SLOTS])
{
  guint n_slots = ESTUARY_N_SLOTS;
  gint s;

  slot_audio[ESTUARY_SLOT_VIDEO] = -1;
  slot_audio[ESTUARY_SLOT_AUDIO] = (gint) self->audio;
  GST_OBJECT_LOCK (self);
  for (s = ESTUARY_N_SLOTS; s < ESTUARY_MAX_SLOTS; s++) {
    slot_audio[s] = self->audio_pads[s] ? s - 1 : -1;
    if (self->audio_pads[s]) {
      n_slots = s + 1;
      gst_object_replace ((GstObject **) & self->srcpads[s], GST_OBJECT (self->audio_pads[s]));
    }
  }
  GST_OBJECT_UNLOCK (self);
  return n_slots;
}

static gboolean
gst_estuary_src_subscribe (GstEstuarySrc * self)
{
  EstuaryBusSubscriber *sub;
  gint slot_audio[ESTUARY_MAX_SLOTS];
  gchar *missing = NULL;
  guint n_slots;
  gchar *name;
  gint s;

  n_slots = gst_estuary_src_slots (self, slot_audio);
  g_mutex_lock (&self->lock);
  name = g_strdup (self->stream_name);
  sub = estuary_bus_subscribe (name, self->max_queue_time, self->max_queue_bytes,
      GST_ELEMENT (self), n_slots, slot_audio, self->caps, self->language);
  if (sub) {
    if (self->sub)
      estuary_bus_subscriber_unref (self->sub);
    self->sub = sub;
  }
  g_mutex_unlock (&self->lock);

  if (sub == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("stream %s is not published",
            GST_STR_NULL (name)), ("no ready publisher with that name on the stream bus"));
    g_free (name);
    gst_estuary_src_remove_pads (self);
    return FALSE;
  }
  /* an audio track asked for by number must exist (audio_0 may be absent: a video-only stream) */
  for (s = 1; s < (gint) n_slots && missing == NULL; s++)
    if (slot_audio[s] > 0 && self->caps[s] == NULL)
      missing = g_strdup_printf ("audio_%d", slot_audio[s]);
  if (missing) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("stream %s has no audio track %s", name,
            missing), ("its audio tracks are numbered from audio_0 in publishing order"));
    g_free (missing);
    g_free (name);
    estuary_bus_unsubscribe (self->sub);
    gst_estuary_src_remove_pads (self);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "stream %s: subscribed (video %" GST_PTR_FORMAT ", audio %"
      GST_PTR_FORMAT ")", name, self->caps[ESTUARY_SLOT_VIDEO], self->caps[ESTUARY_SLOT_AUDIO]);
  g_free (name);

  self->flushing = FALSE;
  self->started = FALSE;
  self->have_offset = FALSE;
  self->catch_up_until = GST_CLOCK_TIME_NONE;
  for (s = 0; s < ESTUARY_MAX_SLOTS; s++)
    self->last_out[s] = GST_CLOCK_TIME_NONE;
  self->seen_dropped = 0;
  gst_estuary_src_add_pads (self);

  self->task = gst_task_new (gst_estuary_src_loop, self, NULL);
  name = g_strdup_printf ("%s:task", GST_OBJECT_NAME (self));
  gst_object_set_name (GST_OBJECT (self->task), name);
  g_free (name);
  gst_task_set_lock (self->task, &self->task_lock);
  gst_task_start (self->task);
  return TRUE;
}

static void
gst_estuary_src_stop (GstEstuarySrc * self)
{
  /* under the object lock, so that the task cannot pause itself after this (it would then wait
   * in PAUSED and gst_task_join() would never return) */
  GST_OBJECT_LOCK (self);
  self->flushing = TRUE;
  if (self->task)
    gst_task_stop (self->task);
  GST_OBJECT_UNLOCK (self);
  if (self->sub)
    estuary_bus_unsubscribe (self->sub);        /* wakes the task if it waits for data */
}

static void
gst_estuary_src_join (GstEstuarySrc * self)
{
  if (self->task) {
    gst_task_join (self->task);
    gst_clear_object (&self->task);
  }
  gst_estuary_src_remove_pads (self);
}

static GstStateChangeReturn
gst_estuary_src_change_state (GstElement * element, GstStateChange transition)
{
  GstEstuarySrc *self = GST_ESTUARY_SRC (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!gst_estuary_src_subscribe (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      estuary_bus_subscriber_set_playing (self->sub, FALSE);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_estuary_src_stop (self);
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (ret == GST_STATE_CHANGE_FAILURE) {
        gst_estuary_src_stop (self);
        gst_estuary_src_join (self);
      }
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      estuary_bus_subscriber_set_playing (self->sub, TRUE);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_estuary_src_join (self);
      break;
    default:
      break;
  }

  if (ret == GST_STATE_CHANGE_SUCCESS && (transition == GST_STATE_CHANGE_READY_TO_PAUSED ||
          transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED))
    ret = GST_STATE_CHANGE_NO_PREROLL;
  return ret;
}

/* ---- streaming ---- */

static void
gst_estuary_src_push_start_events (GstEstuarySrc * self)
{
  guint group_id = gst_util_group_id_next ();
  GstSegment segment;
  gint s;

  gst_segment_init (&segment, GST_FORMAT_TIME);
  for (s = 0; s < ESTUARY_MAX_SLOTS; s++) {
    GstPad *pad = self->srcpads[s];
    GstEvent *event;
    gchar *stream_id;

    if (pad == NULL || self->caps[s] == NULL)
      continue;
    stream_id = gst_pad_create_stream_id (pad, GST_ELEMENT (self), slot_name (self, s));
    event = gst_event_new_stream_start (stream_id);
    gst_event_set_group_id (event, group_id);
    g_free (stream_id);
    gst_pad_push_event (pad, event);
    gst_pad_push_event (pad, gst_event_new_caps (self->caps[s]));
    gst_pad_push_event (pad, gst_event_new_segment (&segment));
    if (self->language[s]) {
      GstTagList *tags = gst_tag_list_new (GST_TAG_LANGUAGE_CODE, self->language[s], NULL);
      gst_tag_list_set_scope (tags, GST_TAG_SCOPE_STREAM);
      gst_pad_push_event (pad, gst_event_new_tag (tags));
    }
  }
}

static void
gst_estuary_src_push_eos (GstEstuarySrc * self)
{
  gint s;

  for (s = 0; s < ESTUARY_MAX_SLOTS; s++)
    if (self->srcpads[s])
      gst_pad_push_event (self->srcpads[s], gst_event_new_eos ());
}

/* abs + offset - base_time, clamped at 0 */
static GstClockTime
gst_estuary_src_rebase (GstEstuarySrc * self, GstClockTime abs, GstClockTime base_time)
{
  if (!GST_CLOCK_TIME_IS_VALID (abs))
    return GST_CLOCK_TIME_NONE;
  abs += self->offset;
  return abs > base_time ? abs - base_time : 0;
}

/* catch-up mode: returns FALSE for stale audio (dropped), else sets live running times on buffer */
static gboolean
gst_estuary_src_retime_live (GstEstuarySrc * self, gint slot, EstuaryBusItem * item,
    GstBuffer * buffer, GstClockTime base_time)
{
  GstClockTime abs = GST_BUFFER_DTS_OR_PTS (item->buffer);
  GstClockTime rt;

  if (!GST_CLOCK_TIME_IS_VALID (self->catch_up_until)) {
    GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
    self->catch_up_until = clock ? gst_clock_get_time (clock) : base_time;
    if (clock)
      gst_object_unref (clock);
  }
  if (GST_CLOCK_TIME_IS_VALID (abs) && abs < self->catch_up_until) {
    if (slot != ESTUARY_SLOT_VIDEO)
      return FALSE;
    /* squeezed just before "now": shown at once, in order */
    rt = self->catch_up_until > base_time ? self->catch_up_until - base_time : 0;
  } else {
    rt = GST_CLOCK_TIME_IS_VALID (abs) && abs > base_time ? abs - base_time : 0;
  }
  if (GST_CLOCK_TIME_IS_VALID (self->last_out[slot]) && rt <= self->last_out[slot])
    rt = self->last_out[slot] + GST_MSECOND;
  self->last_out[slot] = rt;
  /* shift PTS and DTS together: B-frames keep their reordering offset */
  if (GST_CLOCK_TIME_IS_VALID (abs)) {
    GstClockTimeDiff shift = GST_CLOCK_DIFF (abs, rt);
    if (GST_BUFFER_PTS_IS_VALID (item->buffer))
      GST_BUFFER_PTS (buffer) = (GstClockTime) MAX ((GstClockTimeDiff) 0,
          (GstClockTimeDiff) GST_BUFFER_PTS (item->buffer) + shift);
    if (GST_BUFFER_DTS_IS_VALID (item->buffer))
      GST_BUFFER_DTS (buffer) = rt;
  } else {
    GST_BUFFER_PTS (buffer) = rt;
    GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  }
  return TRUE;
}

static GstFlowReturn
gst_estuary_src_push_buffer (GstEstuarySrc * self, gint slot, EstuaryBusItem * item)
{
  GstClockTime base_time = gst_element_get_base_time (GST_ELEMENT (self));
  GstBuffer *buffer;
  guint64 dropped;

  if (!self->have_offset) {
    /* once, for all pads: the earliest buffer we will push lands at running time >= 0 */
    GstClockTime first = estuary_bus_subscriber_get_start_ts (self->sub);
    if (!GST_CLOCK_TIME_IS_VALID (first) || item->ts < first)
      first = item->ts;
    self->offset = first < base_time ? base_time - first : 0;
    self->have_offset = TRUE;
    GST_DEBUG_OBJECT (self, "first ts %" GST_TIME_FORMAT ", base time %" GST_TIME_FORMAT
        ", offset %" GST_TIME_FORMAT, GST_TIME_ARGS (first), GST_TIME_ARGS (base_time),
        GST_TIME_ARGS (self->offset));
  }

  dropped = estuary_bus_subscriber_get_dropped_buffers (self->sub);
  if (dropped != self->seen_dropped) {
    self->seen_dropped = dropped;
    gint s;
    for (s = 0; s < ESTUARY_MAX_SLOTS; s++)
      self->discont[s] = TRUE;
  }

  /* the GstBuffer is shared with the publisher and other subscribers: copy metadata only */
  buffer = gst_buffer_copy (item->buffer);
  if (self->catch_up) {
    if (!gst_estuary_src_retime_live (self, slot, item, buffer, base_time)) {
      gst_buffer_unref (buffer);
      return GST_FLOW_OK;
    }
  } else {
    GstClockTime abs = GST_BUFFER_DTS_OR_PTS (item->buffer);
    /* Audio that arrives after the start was fixed but is older than it (its encoder ran ahead of
     * the video's) would be squeezed onto running time 0: it precedes what this subscriber shows,
     * so it is dropped. */
    if (slot != ESTUARY_SLOT_VIDEO && GST_CLOCK_TIME_IS_VALID (abs) && abs + self->offset < base_time) {
      GST_LOG_OBJECT (self, "dropping %" GST_TIME_FORMAT " on slot %d: before the start",
          GST_TIME_ARGS (abs), slot);
      gst_buffer_unref (buffer);
      return GST_FLOW_OK;
    }
    GST_BUFFER_PTS (buffer) = gst_estuary_src_rebase (self, GST_BUFFER_PTS (item->buffer),
        base_time);
    GST_BUFFER_DTS (buffer) = gst_estuary_src_rebase (self, GST_BUFFER_DTS (item->buffer),
        base_time);
  }
  if (self->discont[slot]) {
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
    self->discont[slot] = FALSE;
  }
  return gst_pad_push (self->srcpads[slot], buffer);
}

static void
gst_estuary_src_pause (GstEstuarySrc * self, GstFlowReturn ret)
{
  GST_DEBUG_OBJECT (self, "pausing task: %s", gst_flow_get_name (ret));
  GST_OBJECT_LOCK (self);
  if (!self->flushing)
    gst_task_pause (self->task);
  GST_OBJECT_UNLOCK (self);
  if (ret == GST_FLOW_EOS) {
    gst_estuary_src_push_eos (self);
  } else if (ret < GST_FLOW_EOS) {
    GST_ELEMENT_FLOW_ERROR (self, ret);
    gst_estuary_src_push_eos (self);
  }
}

static void
gst_estuary_src_loop (gpointer user_data)
{
  GstEstuarySrc *self = GST_ESTUARY_SRC (user_data);
  GstFlowReturn ret = GST_FLOW_OK;
  EstuaryBusItem *item;
  gint slot = -1;

  if (!self->started) {
    gst_estuary_src_push_start_events (self);
    self->started = TRUE;
  }

  item = estuary_bus_subscriber_pop (self->sub);
  if (item == NULL) {
    gst_estuary_src_pause (self, GST_FLOW_FLUSHING);
    return;
  }
  if (item->type != ESTUARY_BUS_ITEM_EOS)
    slot = estuary_bus_subscriber_track_slot (self->sub, item->track);

  switch (item->type) {
    case ESTUARY_BUS_ITEM_BUFFER:
      if (slot < 0 || self->srcpads[slot] == NULL)
        break;
      ret = gst_estuary_src_push_buffer (self, slot, item);
      if (ret == GST_FLOW_NOT_LINKED)
        GST_LOG_OBJECT (self, "%s pad not linked", slot_name (self, slot));
      ret = gst_flow_combiner_update_pad_flow (self->combiner, self->srcpads[slot], ret);
      break;
    case ESTUARY_BUS_ITEM_CAPS:
      if (slot < 0 || self->srcpads[slot] == NULL || gst_caps_is_equal (self->caps[slot],
              item->caps))
        break;
      GST_OBJECT_LOCK (self);
      gst_caps_replace (&self->caps[slot], item->caps);
      GST_OBJECT_UNLOCK (self);
      gst_pad_push_event (self->srcpads[slot], gst_event_new_caps (item->caps));
      break;
    case ESTUARY_BUS_ITEM_EOS:
      GST_INFO_OBJECT (self, "publisher ended");
      ret = GST_FLOW_EOS;
      break;
  }
  estuary_bus_item_unref (item);

  /* NOT_LINKED here means every pad is unlinked: keep consuming, downstream may link later */
  if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED)
    gst_estuary_src_pause (self, ret);
}
