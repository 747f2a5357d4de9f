/* estuaryhealth: a pass-through stream-health analyser for raw video and raw audio. It owns the
 * per-stream analysis state (luma mean, a downscaled luma signature, RMS, last running times) and
 * turns conditions that last long enough into "estuary-health" element messages. */
/**
 * SECTION:element-estuaryhealth
 * @title: estuaryhealth
 *
 * Passes raw video and raw audio through unchanged and watches them:
 *
 * - **black**: the mean luma of every frame stays below #GstEstuaryHealth:black-threshold for
 *   #GstEstuaryHealth:black-duration seconds;
 * - **frozen**: a 16x16 grid of block luma means changes by no more than
 *   #GstEstuaryHealth:freeze-threshold between consecutive frames for
 *   #GstEstuaryHealth:freeze-duration seconds (a black picture is frozen too; both are reported);
 * - **silence**: the RMS level of the audio stays below #GstEstuaryHealth:silence-threshold dBFS for
 *   #GstEstuaryHealth:silence-duration seconds;
 * - **drift**: with both pads in use, the running times of the latest video and audio buffers differ
 *   by more than #GstEstuaryHealth:drift-threshold seconds for #GstEstuaryHealth:drift-duration
 *   seconds.
 *
 * Durations are measured in stream running time (buffer timestamps), not wall-clock time.
 *
 * Each condition posts one element message when it is raised and one when it is cleared:
 *
 * |[
 * estuary-health, kind=(string){black|frozen|silence|drift}, state=(string){raised|cleared},
 *     value=(double)..., stream=(string)..., running-time=(guint64)...
 * ]|
 *
 * `value` is the measurement that decided the change: mean luma (0-255), the largest block change
 * (0-255), the RMS level in dBFS, or the drift in seconds (video minus audio).
 *
 * The element has an always video pair (video_sink/video_src: planar or semi-planar YUV and grey,
 * 8 to 12 bits; put a videoconvert in front for RGB and packed formats) and an always audio pair (audio_sink/audio_src,
 * interleaved S16LE or F32LE; put an audioconvert in front for others). Plain `!` links pick the
 * pair that matches the upstream caps; unused pads stay unlinked.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc pattern=black ! estuaryhealth stream=test/black ! fakesink
 * ]| Posts `estuary-health, kind=black, state=raised` after two seconds of stream time.
 * |[
 * gst-launch-1.0 -m estuarysrc stream=live/cam name=src src.video ! queue ! h264parse ! avdec_h264 !
 *     h.video_sink estuaryhealth name=h stream=live/cam h.video_src ! fakesink
 *     src.audio ! queue ! aacparse ! avdec_aac ! audioconvert ! h.audio_sink h.audio_src ! fakesink
 * ]| Watches both tracks of a stream on the Estuary bus, including A/V drift.
 *
 * Since: 0.1.0
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "gstestuaryhealth.h"

GST_DEBUG_CATEGORY_STATIC (gst_estuary_health_debug);
#define GST_CAT_DEFAULT gst_estuary_health_debug

#define GRID 16

/* Formats whose first plane is luma; 10/12-bit ones are read as 16-bit words. */
#define HEALTH_VIDEO_FORMATS "{ I420, YV12, NV12, NV21, Y42B, Y444, Y41B, A420, GRAY8, " \
  "I420_10LE, I422_10LE, Y444_10LE, P010_10LE, I420_12LE, Y444_12LE, GRAY16_LE }"

#define DEFAULT_STREAM NULL
#define DEFAULT_BLACK_THRESHOLD 24.0
#define DEFAULT_BLACK_DURATION 2.0
#define DEFAULT_FREEZE_THRESHOLD 1.0
#define DEFAULT_FREEZE_DURATION 4.0
#define DEFAULT_SILENCE_THRESHOLD -60.0
#define DEFAULT_SILENCE_DURATION 2.0
#define DEFAULT_DRIFT_THRESHOLD 0.5
#define DEFAULT_DRIFT_DURATION 2.0

enum
{
  PROP_0,
  PROP_STREAM,
  PROP_BLACK_THRESHOLD,
  PROP_BLACK_DURATION,
  PROP_FREEZE_THRESHOLD,
  PROP_FREEZE_DURATION,
  PROP_SILENCE_THRESHOLD,
  PROP_SILENCE_DURATION,
  PROP_DRIFT_THRESHOLD,
  PROP_DRIFT_DURATION,
};

typedef enum
{
  COND_BLACK,
  COND_FROZEN,
  COND_SILENCE,
  COND_DRIFT,
  N_CONDS
} HealthCond;

static const gchar *cond_names[N_CONDS] = { "black", "frozen", "silence", "drift" };

/* A condition that must hold for a duration before it is raised. */
typedef struct
{
  gboolean raised;
  GstClockTime since;           /* running time the condition started to hold, or NONE */
} CondState;

struct _GstEstuaryHealth
{
  GstElement parent;

  GstPad *video_sinkpad, *video_srcpad;
  GstPad *audio_sinkpad, *audio_srcpad;

  /* properties, under the object lock */
  gchar *stream;
  gdouble black_threshold, black_duration;
  gdouble freeze_threshold, freeze_duration;
  gdouble silence_threshold, silence_duration;
  gdouble drift_threshold, drift_duration;

  /* video streaming thread */
  GstVideoInfo vinfo;
  gboolean have_vinfo;
  GstSegment vsegment;
  gdouble signature[GRID * GRID];
  gboolean have_signature;

  /* audio streaming thread */
  GstAudioInfo ainfo;
  gboolean have_ainfo;
  GstSegment asegment;

  /* shared between both streaming threads, under the object lock */
  CondState conds[N_CONDS];
  GstClockTime last_video_rt, last_audio_rt;
};

static GstStaticPadTemplate video_sink_template = GST_STATIC_PAD_TEMPLATE ("video_sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE
        (HEALTH_VIDEO_FORMATS)));
static GstStaticPadTemplate video_src_template = GST_STATIC_PAD_TEMPLATE ("video_src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE
        (HEALTH_VIDEO_FORMATS)));
static GstStaticPadTemplate audio_sink_template = GST_STATIC_PAD_TEMPLATE ("audio_sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=(string){ S16LE, F32LE }, "
        "layout=(string)interleaved, rate=(int)[1,MAX], channels=(int)[1,MAX]"));
static GstStaticPadTemplate audio_src_template = GST_STATIC_PAD_TEMPLATE ("audio_src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format=(string){ S16LE, F32LE }, "
        "layout=(string)interleaved, rate=(int)[1,MAX], channels=(int)[1,MAX]"));

#define gst_estuary_health_parent_class parent_class
G_DEFINE_TYPE (GstEstuaryHealth, gst_estuary_health, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (estuaryhealth, "estuaryhealth", GST_RANK_NONE,
    GST_TYPE_ESTUARY_HEALTH);

static void
gst_estuary_health_reset (GstEstuaryHealth * self)
{
  gint i;

  GST_OBJECT_LOCK (self);
  for (i = 0; i < N_CONDS; i++) {
    self->conds[i].raised = FALSE;
    self->conds[i].since = GST_CLOCK_TIME_NONE;
  }
  self->last_video_rt = GST_CLOCK_TIME_NONE;
  self->last_audio_rt = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK (self);
  self->have_signature = FALSE;
  gst_segment_init (&self->vsegment, GST_FORMAT_TIME);
  gst_segment_init (&self->asegment, GST_FORMAT_TIME);
}

/* Pending message to post outside the object lock. */
typedef struct
{
  HealthCond cond;
  gboolean raised;
  gdouble value;
} HealthChange;

/* Advances one condition at running time @rt. Called with the object lock held; returns TRUE and
 * fills @change when the condition is raised or cleared. */
static gboolean
update_cond (GstEstuaryHealth * self, HealthCond cond, gboolean holds,
    GstClockTime rt, gdouble duration_s, gdouble value, HealthChange * change)
{
  CondState *c = &self->conds[cond];

  if (!holds) {
    c->since = GST_CLOCK_TIME_NONE;
    if (c->raised) {
      c->raised = FALSE;
      change->cond = cond;
      change->raised = FALSE;
      change->value = value;
      return TRUE;
    }
    return FALSE;
  }
  if (!GST_CLOCK_TIME_IS_VALID (c->since) || rt < c->since)
    c->since = rt;
  if (!c->raised && (gdouble) (rt - c->since) / GST_SECOND >= duration_s) {
    c->raised = TRUE;
    change->cond = cond;
    change->raised = TRUE;
    change->value = value;
    return TRUE;
  }
  return FALSE;
}

static void
post_change (GstEstuaryHealth * self, const HealthChange * change,
    GstClockTime rt)
{
  GstStructure *s;
  gchar *stream;

  GST_OBJECT_LOCK (self);
  stream = g_strdup (self->stream ? self->stream : "");
  GST_OBJECT_UNLOCK (self);

  GST_INFO_OBJECT (self, "%s %s (value %f) at %" GST_TIME_FORMAT,
      cond_names[change->cond], change->raised ? "raised" : "cleared",
      change->value, GST_TIME_ARGS (rt));
  s = gst_structure_new ("estuary-health",
      "kind", G_TYPE_STRING, cond_names[change->cond],
      "state", G_TYPE_STRING, change->raised ? "raised" : "cleared",
      "value", G_TYPE_DOUBLE, change->value,
      "stream", G_TYPE_STRING, stream,
      "running-time", G_TYPE_UINT64, (guint64) rt, NULL);
  g_free (stream);
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_element (GST_OBJECT_CAST (self), s));
}

/* Checks the A/V drift once both tracks have a running time. Called with the object lock held. */
static gboolean
check_drift (GstEstuaryHealth * self, HealthChange * change)
{
  gdouble drift;

  if (!GST_CLOCK_TIME_IS_VALID (self->last_video_rt) ||
      !GST_CLOCK_TIME_IS_VALID (self->last_audio_rt))
    return FALSE;
  drift = ((gdouble) self->last_video_rt - (gdouble) self->last_audio_rt) /
      GST_SECOND;
  /* Time the condition on the lagging track: one monotonic clock for both threads. */
  return update_cond (self, COND_DRIFT, fabs (drift) > self->drift_threshold,
      MIN (self->last_video_rt, self->last_audio_rt), self->drift_duration,
      drift, change);
}

static void
analyse_video (GstEstuaryHealth * self, GstBuffer * buf)
{
  GstVideoFrame frame;
  gdouble sig[GRID * GRID];
  guint64 sums[GRID * GRID];
  guint counts[GRID * GRID];
  guint64 total = 0, n = 0;
  gint w, h, stride, pstride, shift, x, y, step_x, step_y;
  const guint8 *plane;
  gdouble mean, max_change = 255.0;
  GstClockTime rt;
  HealthChange changes[3];
  gint n_changes = 0, i;

  if (!self->have_vinfo || !GST_BUFFER_PTS_IS_VALID (buf))
    return;
  rt = gst_segment_to_running_time (&self->vsegment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return;
  if (!gst_video_frame_map (&frame, &self->vinfo, buf, GST_MAP_READ))
    return;

  /* Sample at most ~256x256 luma pixels: enough for a mean and a block signature. */
  w = GST_VIDEO_FRAME_COMP_WIDTH (&frame, 0);
  h = GST_VIDEO_FRAME_COMP_HEIGHT (&frame, 0);
  stride = GST_VIDEO_FRAME_COMP_STRIDE (&frame, 0);
  plane = GST_VIDEO_FRAME_COMP_DATA (&frame, 0);
  step_x = MAX (1, w / 256);
  step_y = MAX (1, h / 256);
  memset (sums, 0, sizeof (sums));
  memset (counts, 0, sizeof (counts));
  pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, 0);
  /* Reduce deep formats to 8 bits: drop the padding shift, then the extra depth. */
  shift = GST_VIDEO_FORMAT_INFO_SHIFT (frame.info.finfo, 0) +
      GST_VIDEO_FORMAT_INFO_DEPTH (frame.info.finfo, 0) - 8;
  for (y = 0; y < h; y += step_y) {
    const guint8 *row = plane + (gsize) y * stride;
    gint by = MIN (GRID - 1, y * GRID / MAX (h, 1));
    for (x = 0; x < w; x += step_x) {
      gint b = by * GRID + MIN (GRID - 1, x * GRID / MAX (w, 1));
      guint v = pstride == 2 ? (GST_READ_UINT16_LE (row + 2 * x) >> shift) :
          row[x];
      sums[b] += MIN (v, 255);
      counts[b]++;
    }
  }
  gst_video_frame_unmap (&frame);

  for (i = 0; i < GRID * GRID; i++) {
    total += sums[i];
    n += counts[i];
    sig[i] = counts[i] ? (gdouble) sums[i] / counts[i] : 0.0;
  }
  mean = n ? (gdouble) total / n : 0.0;
  if (self->have_signature) {
    max_change = 0.0;
    for (i = 0; i < GRID * GRID; i++)
      max_change = MAX (max_change, fabs (sig[i] - self->signature[i]));
  }
  memcpy (self->signature, sig, sizeof (sig));
  self->have_signature = TRUE;

  GST_OBJECT_LOCK (self);
  self->last_video_rt = rt;
  if (update_cond (self, COND_BLACK, mean < self->black_threshold, rt,
          self->black_duration, mean, &changes[n_changes]))
    n_changes++;
  if (update_cond (self, COND_FROZEN, max_change <= self->freeze_threshold, rt,
          self->freeze_duration, max_change, &changes[n_changes]))
    n_changes++;
  if (check_drift (self, &changes[n_changes]))
    n_changes++;
  GST_OBJECT_UNLOCK (self);

  for (i = 0; i < n_changes; i++)
    post_change (self, &changes[i], rt);
}

static void
analyse_audio (GstEstuaryHealth * self, GstBuffer * buf)
{
  GstMapInfo map;
  gdouble sum = 0.0, rms, db;
  gsize n = 0, i;
  GstClockTime rt, end;
  HealthChange changes[2];
  gint n_changes = 0, k;

  if (!self->have_ainfo || !GST_BUFFER_PTS_IS_VALID (buf))
    return;
  rt = gst_segment_to_running_time (&self->asegment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  if (!GST_CLOCK_TIME_IS_VALID (rt))
    return;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return;

  if (GST_AUDIO_INFO_FORMAT (&self->ainfo) == GST_AUDIO_FORMAT_S16LE) {
    const gint16 *s = (const gint16 *) map.data;
    n = map.size / sizeof (gint16);
    for (i = 0; i < n; i++) {
      gdouble v = s[i] / 32768.0;
      sum += v * v;
    }
  } else {
    const gfloat *s = (const gfloat *) map.data;
    n = map.size / sizeof (gfloat);
    for (i = 0; i < n; i++)
      sum += (gdouble) s[i] * s[i];
  }
  gst_buffer_unmap (buf, &map);
  if (n == 0)
    return;
  rms = sqrt (sum / n);
  db = rms > 0.0 ? 20.0 * log10 (rms) : -200.0;

  /* The audio position is the end of the buffer: that is how far the audio track has got. */
  end = rt;
  if (GST_AUDIO_INFO_RATE (&self->ainfo) > 0 && GST_AUDIO_INFO_BPF (&self->ainfo) > 0)
    end += gst_util_uint64_scale_int (map.size / GST_AUDIO_INFO_BPF (&self->ainfo),
        GST_SECOND, GST_AUDIO_INFO_RATE (&self->ainfo));

  GST_OBJECT_LOCK (self);
  self->last_audio_rt = rt;
  if (update_cond (self, COND_SILENCE, db < self->silence_threshold, end,
          self->silence_duration, db, &changes[n_changes]))
    n_changes++;
  if (check_drift (self, &changes[n_changes]))
    n_changes++;
  GST_OBJECT_UNLOCK (self);

  for (k = 0; k < n_changes; k++)
    post_change (self, &changes[k], end);
}

static GstFlowReturn
gst_estuary_health_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstEstuaryHealth *self = GST_ESTUARY_HEALTH (parent);

  if (pad == self->video_sinkpad) {
    analyse_video (self, buf);
    return gst_pad_push (self->video_srcpad, buf);
  }
  analyse_audio (self, buf);
  return gst_pad_push (self->audio_srcpad, buf);
}

static gboolean
gst_estuary_health_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstEstuaryHealth *self = GST_ESTUARY_HEALTH (parent);
  gboolean video = pad == self->video_sinkpad;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      if (video) {
        self->have_vinfo = gst_video_info_from_caps (&self->vinfo, caps);
        self->have_signature = FALSE;
      } else {
        self->have_ainfo = gst_audio_info_from_caps (&self->ainfo, caps);
      }
      break;
    }
    case GST_EVENT_SEGMENT:{
      const GstSegment *seg;
      gst_event_parse_segment (event, &seg);
      if (seg->format == GST_FORMAT_TIME)
        gst_segment_copy_into (seg, video ? &self->vsegment : &self->asegment);
      break;
    }
    case GST_EVENT_FLUSH_STOP:
      GST_OBJECT_LOCK (self);
      if (video) {
        self->last_video_rt = GST_CLOCK_TIME_NONE;
      } else {
        self->last_audio_rt = GST_CLOCK_TIME_NONE;
      }
      GST_OBJECT_UNLOCK (self);
      if (video)
        self->have_signature = FALSE;
      break;
    default:
      break;
  }
  /* Forwarded through the internal links: only to this pad's partner. */
  return gst_pad_event_default (pad, parent, event);
}

static GstIterator *
gst_estuary_health_iterate_internal_links (GstPad * pad, GstObject * parent)
{
  GstEstuaryHealth *self = GST_ESTUARY_HEALTH (parent);
  GstPad *other = NULL;
  GstIterator *it;
  GValue val = G_VALUE_INIT;

  if (pad == self->video_sinkpad)
    other = self->video_srcpad;
  else if (pad == self->video_srcpad)
    other = self->video_sinkpad;
  else if (pad == self->audio_sinkpad)
    other = self->audio_srcpad;
  else if (pad == self->audio_srcpad)
    other = self->audio_sinkpad;
  if (!other)
    return NULL;
  g_value_init (&val, GST_TYPE_PAD);
  g_value_set_object (&val, other);
  it = gst_iterator_new_single (GST_TYPE_PAD, &val);
  g_value_unset (&val);
  return it;
}

static GstPad *
make_pad (GstEstuaryHealth * self, GstStaticPadTemplate * templ)
{
  GstPad *pad = gst_pad_new_from_static_template (templ, templ->name_template);

  gst_pad_set_iterate_internal_links_function (pad,
      gst_estuary_health_iterate_internal_links);
  GST_PAD_SET_PROXY_CAPS (pad);
  GST_PAD_SET_PROXY_ALLOCATION (pad);
  GST_PAD_SET_PROXY_SCHEDULING (pad);
  if (templ->direction == GST_PAD_SINK) {
    gst_pad_set_chain_function (pad, gst_estuary_health_chain);
    gst_pad_set_event_function (pad, gst_estuary_health_sink_event);
  }
  gst_element_add_pad (GST_ELEMENT_CAST (self), pad);
  return pad;
}

static void
gst_estuary_health_init (GstEstuaryHealth * self)
{
  self->video_sinkpad = make_pad (self, &video_sink_template);
  self->video_srcpad = make_pad (self, &video_src_template);
  self->audio_sinkpad = make_pad (self, &audio_sink_template);
  self->audio_srcpad = make_pad (self, &audio_src_template);

  self->stream = g_strdup (DEFAULT_STREAM);
  self->black_threshold = DEFAULT_BLACK_THRESHOLD;
  self->black_duration = DEFAULT_BLACK_DURATION;
  self->freeze_threshold = DEFAULT_FREEZE_THRESHOLD;
  self->freeze_duration = DEFAULT_FREEZE_DURATION;
  self->silence_threshold = DEFAULT_SILENCE_THRESHOLD;
  self->silence_duration = DEFAULT_SILENCE_DURATION;
  self->drift_threshold = DEFAULT_DRIFT_THRESHOLD;
  self->drift_duration = DEFAULT_DRIFT_DURATION;
  gst_estuary_health_reset (self);
}

static void
gst_estuary_health_finalize (GObject * object)
{
  GstEstuaryHealth *self = GST_ESTUARY_HEALTH (object);

  g_free (self->stream);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static GstStateChangeReturn
gst_estuary_health_change_state (GstElement * element,
    GstStateChange transition)
{
  GstEstuaryHealth *self = GST_ESTUARY_HEALTH (element);

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    self->have_vinfo = FALSE;
    self->have_ainfo = FALSE;
    gst_estuary_health_reset (self);
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static void
gst_estuary_health_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstEstuaryHealth *self = GST_ESTUARY_HEALTH (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_STREAM:
      g_free (self->stream);
      self->stream = g_value_dup_string (value);
      break;
    case PROP_BLACK_THRESHOLD:
      self->black_threshold = g_value_get_double (value);
      break;
    case PROP_BLACK_DURATION:
      self->black_duration = g_value_get_double (value);
      break;
    case PROP_FREEZE_THRESHOLD:
      self->freeze_threshold = g_value_get_double (value);
      break;
    case PROP_FREEZE_DURATION:
      self->freeze_duration = g_value_get_double (value);
      break;
    case PROP_SILENCE_THRESHOLD:
      self->silence_threshold = g_value_get_double (value);
      break;
    case PROP_SILENCE_DURATION:
      self->silence_duration = g_value_get_double (value);
      break;
    case PROP_DRIFT_THRESHOLD:
      self->drift_threshold = g_value_get_double (value);
      break;
    case PROP_DRIFT_DURATION:
      self->drift_duration = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_estuary_health_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstEstuaryHealth *self = GST_ESTUARY_HEALTH (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_STREAM:
      g_value_set_string (value, self->stream);
      break;
    case PROP_BLACK_THRESHOLD:
      g_value_set_double (value, self->black_threshold);
      break;
    case PROP_BLACK_DURATION:
      g_value_set_double (value, self->black_duration);
      break;
    case PROP_FREEZE_THRESHOLD:
      g_value_set_double (value, self->freeze_threshold);
      break;
    case PROP_FREEZE_DURATION:
      g_value_set_double (value, self->freeze_duration);
      break;
    case PROP_SILENCE_THRESHOLD:
      g_value_set_double (value, self->silence_threshold);
      break;
    case PROP_SILENCE_DURATION:
      g_value_set_double (value, self->silence_duration);
      break;
    case PROP_DRIFT_THRESHOLD:
      g_value_set_double (value, self->drift_threshold);
      break;
    case PROP_DRIFT_DURATION:
      g_value_set_double (value, self->drift_duration);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
install_double (GObjectClass * gobject_class, guint id, const gchar * name,
    const gchar * blurb, gdouble min, gdouble max, gdouble def)
{
  g_object_class_install_property (gobject_class, id,
      g_param_spec_double (name, name, blurb, min, max, def,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
}

static void
gst_estuary_health_class_init (GstEstuaryHealthClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_estuary_health_set_property;
  gobject_class->get_property = gst_estuary_health_get_property;
  gobject_class->finalize = gst_estuary_health_finalize;
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_estuary_health_change_state);

  g_object_class_install_property (gobject_class, PROP_STREAM,
      g_param_spec_string ("stream", "Stream",
          "Stream name (app/stream) copied into every message", DEFAULT_STREAM,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  install_double (gobject_class, PROP_BLACK_THRESHOLD, "black-threshold",
      "Mean luma (0-255) below which a frame is black", 0, 255,
      DEFAULT_BLACK_THRESHOLD);
  install_double (gobject_class, PROP_BLACK_DURATION, "black-duration",
      "Seconds of black frames before 'black' is raised", 0, G_MAXDOUBLE,
      DEFAULT_BLACK_DURATION);
  install_double (gobject_class, PROP_FREEZE_THRESHOLD, "freeze-threshold",
      "Largest change of a block luma mean (0-255) that still counts as the same picture",
      0, 255, DEFAULT_FREEZE_THRESHOLD);
  install_double (gobject_class, PROP_FREEZE_DURATION, "freeze-duration",
      "Seconds of unchanged pictures before 'frozen' is raised", 0, G_MAXDOUBLE,
      DEFAULT_FREEZE_DURATION);
  install_double (gobject_class, PROP_SILENCE_THRESHOLD, "silence-threshold",
      "RMS level in dBFS below which audio is silent", -200, 0,
      DEFAULT_SILENCE_THRESHOLD);
  install_double (gobject_class, PROP_SILENCE_DURATION, "silence-duration",
      "Seconds of silence before 'silence' is raised", 0, G_MAXDOUBLE,
      DEFAULT_SILENCE_DURATION);
  install_double (gobject_class, PROP_DRIFT_THRESHOLD, "drift-threshold",
      "Largest difference in seconds between video and audio running times that is not drift",
      0, G_MAXDOUBLE, DEFAULT_DRIFT_THRESHOLD);
  install_double (gobject_class, PROP_DRIFT_DURATION, "drift-duration",
      "Seconds of drift before 'drift' is raised", 0, G_MAXDOUBLE,
      DEFAULT_DRIFT_DURATION);

  gst_element_class_add_static_pad_template (element_class,
      &video_sink_template);
  gst_element_class_add_static_pad_template (element_class,
      &video_src_template);
  gst_element_class_add_static_pad_template (element_class,
      &audio_sink_template);
  gst_element_class_add_static_pad_template (element_class,
      &audio_src_template);
  gst_element_class_set_static_metadata (element_class,
      "Estuary stream health", "Filter/Analyzer/Video/Audio",
      "Passes raw video and audio through and reports black frames, frozen "
      "video, silence and A/V drift as element messages",
      "Estuary project");

  GST_DEBUG_CATEGORY_INIT (gst_estuary_health_debug, "estuaryhealth", 0,
      "Estuary stream health analyser");
}
