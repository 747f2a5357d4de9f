/* estuarysink: publishes the tracks linked to its request pads into the process-wide Estuary stream
 * bus under a stream name. Owns the publisher side of a stream's lifetime (publish on READY->PAUSED,
 * unpublish on PAUSED->READY or when every pad got EOS) and the conversion of timestamps to absolute
 * clock time. The bus itself (registry, GOP cache, subscriber queues) is in estuarybus.c. */

/**
 * SECTION:element-estuarysink
 * @title: estuarysink
 * @see_also: estuarysrc
 *
 * Publishes a stream into the Estuary stream bus, where any number of estuarysrc elements in other
 * pipelines of the same process can subscribe to it by name. Each request pad is one track. The
 * element never blocks its streaming threads on subscribers: a slow subscriber drops data on its own
 * side. It does not synchronise to the clock, so publish from a live source.
 *
 * A video buffer without %GST_BUFFER_FLAG_DELTA_UNIT is a keyframe (a stream without video counts
 * every audio buffer), except %GST_BUFFER_FLAG_HEADER buffers that repeat the streamheader of their
 * caps. The stream bus keeps the buffers since the last keyframe (see
 * #GstEstuarySink:gop-cache-max-bytes) so that late subscribers start on a keyframe at once.
 *
 * Buffer timestamps are stored as absolute clock times (running time + base time); all pipelines of
 * the process are expected to use the default system clock.
 *
 * When every requested pad has caps, the element posts an element message named
 * `estuary-stream-ready` with the fields `stream` (string), `video-caps` and `audio-caps` (GstCaps,
 * when such a track exists).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! x264enc tune=zerolatency key-int-max=30 ! h264parse ! \
 *     s.sink_0  audiotestsrc is-live=true ! voaacenc ! aacparse ! s.sink_1  estuarysink name=s stream=live/test
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "gstestuarysink.h"

GST_DEBUG_CATEGORY_STATIC (gst_estuary_sink_debug);
#define GST_CAT_DEFAULT gst_estuary_sink_debug

#define DEFAULT_GOP_CACHE_MAX_BYTES (32 * 1024 * 1024)

enum
{
  PROP_0,
  PROP_STREAM,
  PROP_GOP_CACHE_MAX_BYTES,
  PROP_BUFFERS,
  PROP_BYTES,
  PROP_TAKEOVER,
};

/* ---- sink pad: per-track state, touched only by that pad's streaming thread (and by state changes
 * while streaming is stopped), except track and eos which are guarded by the element lock ---- */

#define GST_TYPE_ESTUARY_SINK_PAD (gst_estuary_sink_pad_get_type ())
G_DECLARE_FINAL_TYPE (GstEstuarySinkPad, gst_estuary_sink_pad, GST, ESTUARY_SINK_PAD, GstPad)

struct _GstEstuarySinkPad
{
  GstPad parent;
  GstSegment segment;
  gint track;                   /* track id in the published stream, -1 while unpublished */
  gboolean eos;
  gchar *language;              /* object lock: the track's language (property or TAG event) */
  gboolean language_set;        /* object lock: set by the property, which tags do not override */
};

G_DEFINE_TYPE (GstEstuarySinkPad, gst_estuary_sink_pad, GST_TYPE_PAD);

enum
{
  PAD_PROP_0,
  PAD_PROP_LANGUAGE,
};

static void gst_estuary_sink_apply_language (GstEstuarySinkPad * spad);

static void
gst_estuary_sink_pad_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstEstuarySinkPad *spad = GST_ESTUARY_SINK_PAD (object);

  if (prop_id != PAD_PROP_LANGUAGE) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK (spad);
  g_free (spad->language);
  spad->language = g_value_dup_string (value);
  spad->language_set = spad->language != NULL;
  GST_OBJECT_UNLOCK (spad);
  gst_estuary_sink_apply_language (spad);
}

static void
gst_estuary_sink_pad_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstEstuarySinkPad *spad = GST_ESTUARY_SINK_PAD (object);

  if (prop_id != PAD_PROP_LANGUAGE) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  GST_OBJECT_LOCK (spad);
  g_value_set_string (value, spad->language);
  GST_OBJECT_UNLOCK (spad);
}

static void
gst_estuary_sink_pad_finalize (GObject * object)
{
  g_free (GST_ESTUARY_SINK_PAD (object)->language);
  G_OBJECT_CLASS (gst_estuary_sink_pad_parent_class)->finalize (object);
}

static void
gst_estuary_sink_pad_class_init (GstEstuarySinkPadClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->set_property = gst_estuary_sink_pad_set_property;
  gobject_class->get_property = gst_estuary_sink_pad_get_property;
  gobject_class->finalize = gst_estuary_sink_pad_finalize;
  /* Also taken from a GST_TAG_LANGUAGE_CODE stream tag on the pad (tsdemux sends the PMT's). */
  g_object_class_install_property (gobject_class, PAD_PROP_LANGUAGE,
      g_param_spec_string ("language", "Language",
          "Language of the track (ISO 639 code, e.g. eng), listed by the bus and set on subscribers' pads; "
          "when set, stream tags do not change it",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
}

static void
gst_estuary_sink_pad_init (GstEstuarySinkPad * pad)
{
  gst_segment_init (&pad->segment, GST_FORMAT_TIME);
  pad->track = -1;
}

/* ---- element ---- */

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink_%u",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS_ANY);

#define gst_estuary_sink_parent_class parent_class
G_DEFINE_TYPE (GstEstuarySink, gst_estuary_sink, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (estuarysink, "estuarysink", GST_RANK_NONE,
    GST_TYPE_ESTUARY_SINK, GST_DEBUG_CATEGORY_INIT (gst_estuary_sink_debug, "estuarysink", 0,
        "Estuary stream bus sink"));

static void gst_estuary_sink_finalize (GObject * object);
static void gst_estuary_sink_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_estuary_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static GstStateChangeReturn gst_estuary_sink_change_state (GstElement * element,
    GstStateChange transition);
static GstPad *gst_estuary_sink_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps);
static void gst_estuary_sink_release_pad (GstElement * element, GstPad * pad);
static gboolean gst_estuary_sink_send_event (GstElement * element, GstEvent * event);
static GstFlowReturn gst_estuary_sink_chain (GstPad * pad, GstObject * parent, GstBuffer * buffer);
static gboolean gst_estuary_sink_event (GstPad * pad, GstObject * parent, GstEvent * event);

static void
gst_estuary_sink_class_init (GstEstuarySinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_estuary_sink_finalize;
  gobject_class->set_property = gst_estuary_sink_set_property;
  gobject_class->get_property = gst_estuary_sink_get_property;

  g_object_class_install_property (gobject_class, PROP_STREAM,
      g_param_spec_string ("stream", "Stream", "Name of the published stream (e.g. live/test)",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_GOP_CACHE_MAX_BYTES,
      g_param_spec_uint64 ("gop-cache-max-bytes", "GOP cache max bytes",
          "Largest GOP kept for late subscribers; a larger GOP is not cached", 0, G_MAXUINT64,
          DEFAULT_GOP_CACHE_MAX_BYTES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TAKEOVER,
      g_param_spec_boolean ("takeover", "Take over",
          "Publish even if the stream is live: its subscribers move to this sink without an EOS and "
          "resume at its first keyframe (replacing a pipeline while its viewers stay)", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_BUFFERS,
      g_param_spec_uint64 ("buffers", "Buffers", "Buffers published", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_BYTES,
      g_param_spec_uint64 ("bytes", "Bytes", "Bytes published", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template_with_gtype (element_class, &sink_template,
      GST_TYPE_ESTUARY_SINK_PAD);
  gst_element_class_set_static_metadata (element_class, "Estuary stream bus sink", "Sink",
      "Publishes a stream into the process-wide Estuary stream bus", "Estuary");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_estuary_sink_change_state);
  element_class->request_new_pad = GST_DEBUG_FUNCPTR (gst_estuary_sink_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_estuary_sink_release_pad);
  element_class->send_event = GST_DEBUG_FUNCPTR (gst_estuary_sink_send_event);

  gst_type_mark_as_plugin_api (GST_TYPE_ESTUARY_SINK_PAD, 0);
}

static void
gst_estuary_sink_init (GstEstuarySink * self)
{
  g_mutex_init (&self->lock);
  self->gop_cache_max_bytes = DEFAULT_GOP_CACHE_MAX_BYTES;
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SINK);
}

static void
gst_estuary_sink_finalize (GObject * object)
{
  GstEstuarySink *self = GST_ESTUARY_SINK (object);

  if (self->stream) {
    estuary_bus_unpublish (self->stream);
    estuary_bus_stream_unref (self->stream);
  }
  g_free (self->stream_name);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_estuary_sink_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstEstuarySink *self = GST_ESTUARY_SINK (object);

  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_STREAM:
      g_free (self->stream_name);
      self->stream_name = g_value_dup_string (value);
      break;
    case PROP_TAKEOVER:
      self->takeover = g_value_get_boolean (value);
      break;
    case PROP_GOP_CACHE_MAX_BYTES:
      self->gop_cache_max_bytes = g_value_get_uint64 (value);
      if (self->stream)
        estuary_bus_stream_set_gop_cache_max_bytes (self->stream, self->gop_cache_max_bytes);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_estuary_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstEstuarySink *self = GST_ESTUARY_SINK (object);

  g_mutex_lock (&self->lock);
  switch (prop_id) {
    case PROP_STREAM:
      g_value_set_string (value, self->stream_name);
      break;
    case PROP_GOP_CACHE_MAX_BYTES:
      g_value_set_uint64 (value, self->gop_cache_max_bytes);
      break;
    case PROP_TAKEOVER:
      g_value_set_boolean (value, self->takeover);
      break;
    case PROP_BUFFERS:
      g_value_set_uint64 (value, self->buffers);
      break;
    case PROP_BYTES:
      g_value_set_uint64 (value, self->bytes);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  g_mutex_unlock (&self->lock);
}

/* ---- publish / unpublish ---- */

static gboolean
gst_estuary_sink_publish (GstEstuarySink * self)
{
  EstuaryBusStream *stream;
  gchar *name = NULL;
  GList *l;

  g_mutex_lock (&self->lock);
  if (self->stream_name == NULL || self->stream_name[0] == '\0') {
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("No stream name set"),
        ("the \"stream\" property is required"));
    return FALSE;
  }
  stream = self->takeover ? estuary_bus_publish_takeover (self->stream_name, self->gop_cache_max_bytes)
      : estuary_bus_publish (self->stream_name, self->gop_cache_max_bytes);
  if (stream == NULL) {
    name = g_strdup (self->stream_name);
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_ERROR (self, RESOURCE, BUSY, ("stream %s is already published", name),
        ("another estuarysink publishes %s", name));
    g_free (name);
    return FALSE;
  }
  self->stream = stream;
  self->eos_posted = FALSE;
  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next) {
    GstEstuarySinkPad *spad = GST_ESTUARY_SINK_PAD (l->data);
    spad->track = estuary_bus_stream_add_track (stream);
    GST_OBJECT_LOCK (spad);
    if (spad->language)
      estuary_bus_stream_set_language (stream, spad->track, spad->language);
    GST_OBJECT_UNLOCK (spad);
    spad->eos = FALSE;
    gst_segment_init (&spad->segment, GST_FORMAT_TIME);
  }
  GST_OBJECT_UNLOCK (self);
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "stream %s: published", estuary_bus_stream_get_name (stream));
  return TRUE;
}

static void
gst_estuary_sink_unpublish (GstEstuarySink * self)
{
  EstuaryBusStream *stream;
  GList *l;

  g_mutex_lock (&self->lock);
  stream = self->stream;
  self->stream = NULL;
  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
    GST_ESTUARY_SINK_PAD (l->data)->track = -1;
  GST_OBJECT_UNLOCK (self);
  g_mutex_unlock (&self->lock);

  if (stream) {
    GST_INFO_OBJECT (self, "stream %s: unpublished", estuary_bus_stream_get_name (stream));
    estuary_bus_unpublish (stream);
    estuary_bus_stream_unref (stream);
  }
}

static GstStateChangeReturn
gst_estuary_sink_change_state (GstElement * element, GstStateChange transition)
{
  GstEstuarySink *self = GST_ESTUARY_SINK (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !gst_estuary_sink_publish (self))
    return GST_STATE_CHANGE_FAILURE;

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE) {
    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
      gst_estuary_sink_unpublish (self);
    return ret;
  }

  /* no preroll: this sink never waits for data, so it completes state changes at once */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_estuary_sink_unpublish (self);
  return ret;
}

static gboolean
gst_estuary_sink_push_upstream (GstElement * element, GstPad * pad, gpointer event)
{
  gst_pad_push_event (pad, gst_event_ref (GST_EVENT (event)));
  return TRUE;
}

static gboolean
gst_estuary_sink_send_event (GstElement * element, GstEvent * event)
{
  gboolean ret = TRUE;

  if (GST_EVENT_TYPE (event) == GST_EVENT_LATENCY) {
    /* never synchronises to the clock: nothing to configure */
  } else if (GST_EVENT_IS_UPSTREAM (event)) {
    /* e.g. force-key-unit from the application: ask every track's upstream */
    gst_element_foreach_sink_pad (element, gst_estuary_sink_push_upstream, event);
  } else {
    ret = FALSE;
  }
  gst_event_unref (event);
  return ret;
}

/* ---- pads ---- */

static GstPad *
gst_estuary_sink_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * req_name, const GstCaps * caps)
{
  GstEstuarySink *self = GST_ESTUARY_SINK (element);
  GstEstuarySinkPad *spad;
  gchar *name;
  guint serial;

  g_mutex_lock (&self->lock);
  if (req_name && sscanf (req_name, "sink_%u", &serial) == 1) {
    name = g_strdup (req_name);
    self->next_pad_id = MAX (self->next_pad_id, serial + 1);
  } else {
    name = g_strdup_printf ("sink_%u", self->next_pad_id++);
  }
  spad = g_object_new (GST_TYPE_ESTUARY_SINK_PAD, "name", name, "direction", GST_PAD_SINK,
      "template", templ, NULL);
  g_free (name);
  if (self->stream)
    spad->track = estuary_bus_stream_add_track (self->stream);
  g_mutex_unlock (&self->lock);

  gst_pad_set_chain_function (GST_PAD (spad), GST_DEBUG_FUNCPTR (gst_estuary_sink_chain));
  gst_pad_set_event_function (GST_PAD (spad), GST_DEBUG_FUNCPTR (gst_estuary_sink_event));
  GST_PAD_SET_PROXY_ALLOCATION (spad);

  if (!gst_element_add_pad (element, GST_PAD (spad))) {
    GST_WARNING_OBJECT (self, "could not add pad %s", req_name);
    gst_estuary_sink_release_pad (element, GST_PAD (spad));
    gst_object_unref (spad);
    return NULL;
  }
  return GST_PAD (spad);
}

static void
gst_estuary_sink_release_pad (GstElement * element, GstPad * pad)
{
  GstEstuarySink *self = GST_ESTUARY_SINK (element);
  GstEstuarySinkPad *spad = GST_ESTUARY_SINK_PAD (pad);

  g_mutex_lock (&self->lock);
  if (self->stream && spad->track >= 0)
    estuary_bus_stream_remove_track (self->stream, spad->track);
  spad->track = -1;
  g_mutex_unlock (&self->lock);
  if (GST_OBJECT_PARENT (pad) == GST_OBJECT (element))
    gst_element_remove_pad (element, pad);
}

/* Running time + base time, or NONE when outside the segment or before the clock epoch. */
static GstClockTime
gst_estuary_sink_to_abs (const GstSegment * segment, GstClockTime ts, GstClockTime base_time)
{
  guint64 rt;
  gint sign;

  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return GST_CLOCK_TIME_NONE;
  sign = gst_segment_to_running_time_full (segment, GST_FORMAT_TIME, ts, &rt);
  if (sign > 0)
    return base_time + rt;
  if (sign < 0 && rt <= base_time)
    return base_time - rt;
  return GST_CLOCK_TIME_NONE;
}

static GstFlowReturn
gst_estuary_sink_chain (GstPad * pad, GstObject * parent, GstBuffer * buffer)
{
  GstEstuarySink *self = GST_ESTUARY_SINK (parent);
  GstEstuarySinkPad *spad = GST_ESTUARY_SINK_PAD (pad);
  GstClockTime base_time = gst_element_get_base_time (GST_ELEMENT (self));
  EstuaryBusStream *stream = NULL;
  GstClockTime pts, dts;
  gint track = -1;
  gboolean eos;

  pts = gst_estuary_sink_to_abs (&spad->segment, GST_BUFFER_PTS (buffer), base_time);
  dts = gst_estuary_sink_to_abs (&spad->segment, GST_BUFFER_DTS (buffer), base_time);
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    pts = dts;

  g_mutex_lock (&self->lock);
  eos = spad->eos;
  if (!eos && self->stream && spad->track >= 0 && GST_CLOCK_TIME_IS_VALID (pts)) {
    stream = estuary_bus_stream_ref (self->stream);
    track = spad->track;
    self->buffers++;
    self->bytes += gst_buffer_get_size (buffer);
  }
  g_mutex_unlock (&self->lock);

  if (eos) {
    gst_buffer_unref (buffer);
    return GST_FLOW_EOS;
  }
  if (stream == NULL) {
    GST_LOG_OBJECT (pad, "dropping %" GST_PTR_FORMAT " (no timestamp or not published)", buffer);
    gst_buffer_unref (buffer);
    return GST_FLOW_OK;
  }

  GST_LOG_OBJECT (pad, "publishing %" GST_PTR_FORMAT " at %" GST_TIME_FORMAT, buffer,
      GST_TIME_ARGS (pts));

  /* metadata-only copy when shared; the memory itself is never copied */
  buffer = gst_buffer_make_writable (buffer);
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DTS (buffer) = dts;
  estuary_bus_stream_push_buffer (stream, track, buffer);
  estuary_bus_stream_unref (stream);
  return GST_FLOW_OK;
}

static void
gst_estuary_sink_handle_caps (GstEstuarySink * self, GstEstuarySinkPad * spad, GstCaps * caps)
{
  EstuaryBusStream *stream = NULL;
  gint track;

  g_mutex_lock (&self->lock);
  track = spad->track;
  if (self->stream && track >= 0)
    stream = estuary_bus_stream_ref (self->stream);
  g_mutex_unlock (&self->lock);
  if (stream == NULL)
    return;

  if (estuary_bus_stream_set_caps (stream, track, caps)) {
    GstStructure *s = estuary_bus_stream_make_ready_structure (stream);
    GST_INFO_OBJECT (self, "stream %s: ready %" GST_PTR_FORMAT,
        estuary_bus_stream_get_name (stream), s);
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
  }
  estuary_bus_stream_unref (stream);
}

static void
gst_estuary_sink_handle_eos (GstEstuarySink * self, GstEstuarySinkPad * spad)
{
  gboolean all_eos = TRUE;
  GList *l;

  g_mutex_lock (&self->lock);
  spad->eos = TRUE;
  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
    if (!GST_ESTUARY_SINK_PAD (l->data)->eos)
      all_eos = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (all_eos && !self->eos_posted)
    self->eos_posted = TRUE;
  else
    all_eos = FALSE;
  g_mutex_unlock (&self->lock);

  if (all_eos) {
    GST_INFO_OBJECT (self, "all pads got EOS");
    gst_estuary_sink_unpublish (self);
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_eos (GST_OBJECT (self)));
  }
}

/* Publishes the pad's language on its track, when the stream is published. */
static void
gst_estuary_sink_apply_language (GstEstuarySinkPad * spad)
{
  GstElement *parent = gst_pad_get_parent_element (GST_PAD (spad));
  GstEstuarySink *self;
  EstuaryBusStream *stream = NULL;
  gint track = -1;
  gchar *language;

  if (parent == NULL)
    return;
  self = GST_ESTUARY_SINK (parent);
  g_mutex_lock (&self->lock);
  if (self->stream && spad->track >= 0) {
    stream = estuary_bus_stream_ref (self->stream);
    track = spad->track;
  }
  g_mutex_unlock (&self->lock);
  if (stream) {
    GST_OBJECT_LOCK (spad);
    language = g_strdup (spad->language);
    GST_OBJECT_UNLOCK (spad);
    estuary_bus_stream_set_language (stream, track, language);
    g_free (language);
    estuary_bus_stream_unref (stream);
  }
  gst_object_unref (parent);
}

static void
gst_estuary_sink_handle_tags (GstEstuarySinkPad * spad, GstEvent * event)
{
  GstTagList *tags = NULL;
  gchar *code = NULL;

  gst_event_parse_tag (event, &tags);
  if (tags == NULL || gst_tag_list_get_scope (tags) != GST_TAG_SCOPE_STREAM ||
      !gst_tag_list_get_string (tags, GST_TAG_LANGUAGE_CODE, &code))
    return;
  GST_OBJECT_LOCK (spad);
  if (spad->language_set || g_strcmp0 (spad->language, code) == 0) {
    GST_OBJECT_UNLOCK (spad);
    g_free (code);
    return;
  }
  g_free (spad->language);
  spad->language = code;
  GST_OBJECT_UNLOCK (spad);
  gst_estuary_sink_apply_language (spad);
}

static gboolean
gst_estuary_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstEstuarySink *self = GST_ESTUARY_SINK (parent);
  GstEstuarySinkPad *spad = GST_ESTUARY_SINK_PAD (pad);
  gboolean ret = TRUE;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      gst_estuary_sink_handle_caps (self, spad, caps);
      break;
    }
    case GST_EVENT_SEGMENT:{
      const GstSegment *segment;
      gst_event_parse_segment (event, &segment);
      if (segment->format != GST_FORMAT_TIME) {
        GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Only TIME segments are supported"),
            ("got a %s segment on %s:%s", gst_format_get_name (segment->format),
                GST_DEBUG_PAD_NAME (pad)));
        ret = FALSE;
        break;
      }
      gst_segment_copy_into (segment, &spad->segment);
      break;
    }
    case GST_EVENT_EOS:
      gst_estuary_sink_handle_eos (self, spad);
      break;
    case GST_EVENT_TAG:
      gst_estuary_sink_handle_tags (spad, event);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_segment_init (&spad->segment, GST_FORMAT_TIME);
      g_mutex_lock (&self->lock);
      spad->eos = FALSE;
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }
  gst_event_unref (event);
  return ret;
}
