// Owns: the element list and description (see element_catalog.h).
#include "pipelines/element_catalog.h"

#include <gst/gst.h>

#include <algorithm>
#include <sstream>

#include "common/gobject_ptr.h"

namespace estuary::pipelines {
namespace {

std::string plugin_file_of(GstPluginFeature* feature) {
  Ref<GstPlugin> plugin = Ref<GstPlugin>::adopt(gst_plugin_feature_get_plugin(feature));
  if (!plugin) return "(unknown plugin)";
  const gchar* file = gst_plugin_get_filename(plugin.get());
  return file ? file : "(built in)";
}

std::string plugin_name_of(GstPluginFeature* feature) {
  const gchar* name = gst_plugin_feature_get_plugin_name(feature);
  return name ? name : "?";
}

std::string value_text(const GValue* value) {
  if (!value || !G_IS_VALUE(value)) return "";
  gchar* text = gst_value_serialize(value);
  if (!text) return "";
  std::string out = text;
  g_free(text);
  return out;
}

Result<Ref<GstElementFactory>> find_factory(const std::string& name) {
  GstElementFactory* found = gst_element_factory_find(name.c_str());
  if (!found) return Error{"no element \"" + name + "\" (see estuary --list-elements)", ErrorReason::not_found};
  Ref<GstElementFactory> factory = Ref<GstElementFactory>::adopt(found);
  GstPluginFeature* loaded = gst_plugin_feature_load(GST_PLUGIN_FEATURE(found));
  if (!loaded) return Error{"element \"" + name + "\": its plugin does not load", ErrorReason::internal};
  return Ref<GstElementFactory>::adopt(GST_ELEMENT_FACTORY(loaded));
}

}  // namespace

std::string list_elements_text() {
  // Every element factory (gst_element_factory_list_get_elements filters by klass words and would
  // leave out, e.g., "Filter/Effect/Video").
  GList* all = gst_registry_get_feature_list(gst_registry_get(), GST_TYPE_ELEMENT_FACTORY);
  std::vector<std::string> lines;
  for (GList* l = all; l; l = l->next) {
    auto* f = GST_ELEMENT_FACTORY(l->data);
    const gchar* klass = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS);
    const gchar* desc = gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_DESCRIPTION);
    std::string file = plugin_file_of(GST_PLUGIN_FEATURE(f));
    lines.push_back(std::string(GST_OBJECT_NAME(f)) + "  " + plugin_name_of(GST_PLUGIN_FEATURE(f)) + "  " +
                    (klass ? klass : "") + "  " + (desc ? desc : "") + "  [" + file + "]");
  }
  gst_plugin_feature_list_free(all);
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

Result<std::string> inspect_element_text(const std::string& name) {
  auto factory = find_factory(name);
  if (!factory) return factory.error();
  GstElementFactory* f = factory->get();
  std::ostringstream out;
  auto meta = [f](const char* key) {
    const gchar* v = gst_element_factory_get_metadata(f, key);
    return std::string(v ? v : "");
  };
  out << "Element: " << name << "\n"
      << "  Long name: " << meta(GST_ELEMENT_METADATA_LONGNAME) << "\n"
      << "  Klass: " << meta(GST_ELEMENT_METADATA_KLASS) << "\n"
      << "  Description: " << meta(GST_ELEMENT_METADATA_DESCRIPTION) << "\n"
      << "  Rank: " << gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(f)) << "\n";
  {
    Ref<GstPlugin> plugin = Ref<GstPlugin>::adopt(gst_plugin_feature_get_plugin(GST_PLUGIN_FEATURE(f)));
    out << "Plugin: " << plugin_name_of(GST_PLUGIN_FEATURE(f)) << "\n";
    if (plugin) out << "  Version: " << gst_plugin_get_version(plugin.get()) << "\n";
    out << "  File: " << plugin_file_of(GST_PLUGIN_FEATURE(f)) << "\n";
  }
  out << "Pad templates:\n";
  for (const GList* l = gst_element_factory_get_static_pad_templates(f); l; l = l->next) {
    auto* t = static_cast<GstStaticPadTemplate*>(l->data);
    const char* dir = t->direction == GST_PAD_SRC ? "src" : t->direction == GST_PAD_SINK ? "sink" : "?";
    const char* presence = t->presence == GST_PAD_ALWAYS      ? "always"
                           : t->presence == GST_PAD_SOMETIMES ? "sometimes"
                                                              : "request";
    Ref<GstCaps> caps = Ref<GstCaps>::adopt(gst_static_pad_template_get_caps(t));
    gchar* caps_text = gst_caps_to_string(caps.get());
    out << "  " << t->name_template << " (" << dir << ", " << presence << "): " << caps_text << "\n";
    g_free(caps_text);
  }
  GstElement* made = gst_element_factory_create(f, nullptr);
  if (!made) {
    out << "Properties: (the element could not be created here)\n";
    return out.str();
  }
  Ref<GstElement> element = Ref<GstElement>::adopt_floating(made);
  guint n = 0;
  GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(element.get()), &n);
  out << "Properties:\n";
  for (guint i = 0; i < n; ++i) {
    GParamSpec* p = specs[i];
    std::string flags = (p->flags & G_PARAM_WRITABLE) ? ((p->flags & G_PARAM_READABLE) ? "rw" : "w") : "r";
    out << "  " << g_param_spec_get_name(p) << " (" << g_type_name(p->value_type) << ", " << flags << ", default "
        << value_text(g_param_spec_get_default_value(p))
        << "): " << (g_param_spec_get_blurb(p) ? g_param_spec_get_blurb(p) : "") << "\n";
  }
  g_free(specs);
  return out.str();
}

Result<std::vector<std::string>> element_property_names(const std::string& name) {
  auto factory = find_factory(name);
  if (!factory) return factory.error();
  GType type = gst_element_factory_get_element_type(factory->get());
  if (type == G_TYPE_INVALID) return Error{"element \"" + name + "\" has no type", ErrorReason::internal};
  auto* klass = static_cast<GObjectClass*>(g_type_class_ref(type));
  guint n = 0;
  GParamSpec** specs = g_object_class_list_properties(klass, &n);
  std::vector<std::string> names;
  for (guint i = 0; i < n; ++i) names.push_back(g_param_spec_get_name(specs[i]));
  g_free(specs);
  g_type_class_unref(klass);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace estuary::pipelines
