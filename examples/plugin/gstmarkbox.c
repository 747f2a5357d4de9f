/* An example out-of-tree element for Estuary: markbox paints a filled box onto raw video.
 *
 * It is deliberately small — a GstVideoFilter working in place on planar/semi-planar 4:2:0 — so
 * that it can be read as a template for one's own element: class and instance structures,
 * properties, pad templates, the transform, and the plugin entry point.
 *
 * SECTION:element-markbox
 *
 * Paints a rectangle of a solid colour (0xRRGGBB, converted to BT.601 limited-range Y'CbCr) at
 * x, y with the given width and height. The box is clipped to the frame.
 *
 * Example launch line:
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=I420 ! markbox x=16 y=16 width=64 height=64 color=0xff0000 ! autovideosink
 * ]|
 */
#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

#define GST_TYPE_MARK_BOX (gst_mark_box_get_type())
G_DECLARE_FINAL_TYPE(GstMarkBox, gst_mark_box, GST, MARK_BOX, GstVideoFilter)

struct _GstMarkBox {
  GstVideoFilter parent;
  guint x, y, width, height;
  guint color; /* 0xRRGGBB */
};

enum { PROP_0, PROP_X, PROP_Y, PROP_WIDTH, PROP_HEIGHT, PROP_COLOR };

#define FORMATS "{ I420, YV12, NV12 }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(FORMATS)));

G_DEFINE_TYPE(GstMarkBox, gst_mark_box, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(markbox, "markbox", GST_RANK_NONE, GST_TYPE_MARK_BOX);

static guint8 clamp_byte(double v) { return v < 0 ? 0 : v > 255 ? 255 : (guint8)(v + 0.5); }

static void fill_rect(guint8* plane, gint stride, gint pixel_stride, guint x0, guint y0, guint x1, guint y1,
                      guint8 value, gint offset) {
  for (guint row = y0; row < y1; ++row) {
    guint8* line = plane + (gsize)row * stride;
    for (guint col = x0; col < x1; ++col) line[col * pixel_stride + offset] = value;
  }
}

static GstFlowReturn gst_mark_box_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  GstMarkBox* self = GST_MARK_BOX(filter);
  guint frame_w = GST_VIDEO_FRAME_WIDTH(frame), frame_h = GST_VIDEO_FRAME_HEIGHT(frame);
  guint x0, y0, x1, y1;
  double r, g, b;
  guint8 luma, cb, cr;

  GST_OBJECT_LOCK(self);
  x0 = MIN(self->x, frame_w);
  y0 = MIN(self->y, frame_h);
  x1 = MIN(self->x + self->width, frame_w);
  y1 = MIN(self->y + self->height, frame_h);
  r = (self->color >> 16) & 0xff;
  g = (self->color >> 8) & 0xff;
  b = self->color & 0xff;
  GST_OBJECT_UNLOCK(self);
  if (x0 >= x1 || y0 >= y1) return GST_FLOW_OK;

  luma = clamp_byte(16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256);
  cb = clamp_byte(128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256);
  cr = clamp_byte(128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256);

  fill_rect(GST_VIDEO_FRAME_PLANE_DATA(frame, 0), GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0), 1, x0, y0, x1, y1, luma, 0);
  /* 4:2:0 chroma: half resolution both ways; a box edge on an odd pixel covers the shared sample. */
  x0 /= 2, y0 /= 2, x1 = (x1 + 1) / 2, y1 = (y1 + 1) / 2;
  switch (GST_VIDEO_FRAME_FORMAT(frame)) {
    case GST_VIDEO_FORMAT_NV12:
      fill_rect(GST_VIDEO_FRAME_PLANE_DATA(frame, 1), GST_VIDEO_FRAME_PLANE_STRIDE(frame, 1), 2, x0, y0, x1, y1, cb, 0);
      fill_rect(GST_VIDEO_FRAME_PLANE_DATA(frame, 1), GST_VIDEO_FRAME_PLANE_STRIDE(frame, 1), 2, x0, y0, x1, y1, cr, 1);
      break;
    default: /* I420 and YV12: GstVideoFrame's components hide the plane order */
      fill_rect(GST_VIDEO_FRAME_COMP_DATA(frame, 1), GST_VIDEO_FRAME_COMP_STRIDE(frame, 1), 1, x0, y0, x1, y1, cb, 0);
      fill_rect(GST_VIDEO_FRAME_COMP_DATA(frame, 2), GST_VIDEO_FRAME_COMP_STRIDE(frame, 2), 1, x0, y0, x1, y1, cr, 0);
      break;
  }
  return GST_FLOW_OK;
}

static void gst_mark_box_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  GstMarkBox* self = GST_MARK_BOX(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_X: self->x = g_value_get_uint(value); break;
    case PROP_Y: self->y = g_value_get_uint(value); break;
    case PROP_WIDTH: self->width = g_value_get_uint(value); break;
    case PROP_HEIGHT: self->height = g_value_get_uint(value); break;
    case PROP_COLOR: self->color = g_value_get_uint(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_mark_box_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  GstMarkBox* self = GST_MARK_BOX(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_X: g_value_set_uint(value, self->x); break;
    case PROP_Y: g_value_set_uint(value, self->y); break;
    case PROP_WIDTH: g_value_set_uint(value, self->width); break;
    case PROP_HEIGHT: g_value_set_uint(value, self->height); break;
    case PROP_COLOR: g_value_set_uint(value, self->color); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_mark_box_class_init(GstMarkBoxClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_CONTROLLABLE;

  gobject_class->set_property = gst_mark_box_set_property;
  gobject_class->get_property = gst_mark_box_get_property;
  g_object_class_install_property(gobject_class, PROP_X,
                                  g_param_spec_uint("x", "X", "Left edge of the box in pixels", 0, G_MAXUINT16, 0, flags));
  g_object_class_install_property(gobject_class, PROP_Y,
                                  g_param_spec_uint("y", "Y", "Top edge of the box in pixels", 0, G_MAXUINT16, 0, flags));
  g_object_class_install_property(gobject_class, PROP_WIDTH,
                                  g_param_spec_uint("width", "Width", "Box width in pixels", 0, G_MAXUINT16, 64, flags));
  g_object_class_install_property(
      gobject_class, PROP_HEIGHT, g_param_spec_uint("height", "Height", "Box height in pixels", 0, G_MAXUINT16, 64, flags));
  g_object_class_install_property(
      gobject_class, PROP_COLOR,
      g_param_spec_uint("color", "Color", "Box colour as 0xRRGGBB", 0, 0xffffff, 0xffffff, flags));

  gst_element_class_set_static_metadata(element_class, "Mark box", "Filter/Effect/Video",
                                        "Paints a solid box onto raw video (Estuary's example plugin)",
                                        "Estuary developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  GST_VIDEO_FILTER_CLASS(klass)->transform_frame_ip = gst_mark_box_transform_frame_ip;
}

static void gst_mark_box_init(GstMarkBox* self) {
  self->width = 64;
  self->height = 64;
  self->color = 0xffffff;
}

static gboolean plugin_init(GstPlugin* plugin) { return GST_ELEMENT_REGISTER(markbox, plugin); }

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, estuaryexample,
                  "Estuary's example out-of-tree plugin (markbox)", plugin_init, VERSION, "LGPL",
                  "estuary-example-plugin", "https://example.invalid/estuary")
