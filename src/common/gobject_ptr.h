// Owns: RAII handles for GObject / GstObject / GstMiniObject references and guards for
// signal handlers and GSources. Every reference held by C++ code goes through these.
#pragma once

#include <glib-object.h>
#include <gst/gst.h>

#include <utility>
#include <vector>

namespace estuary {

// Whether a handle takes over a reference the caller already owns (adopt) or adds its own (ref).
enum class RefMode { adopt, add_ref };

template <typename T>
struct RefTraits {
  static void ref(T* p) { g_object_ref(p); }
  static void unref(T* p) { g_object_unref(p); }
};

template <>
struct RefTraits<GstBuffer> {
  static void ref(GstBuffer* p) { gst_buffer_ref(p); }
  static void unref(GstBuffer* p) { gst_buffer_unref(p); }
};
template <>
struct RefTraits<GstCaps> {
  static void ref(GstCaps* p) { gst_caps_ref(p); }
  static void unref(GstCaps* p) { gst_caps_unref(p); }
};
template <>
struct RefTraits<GstSample> {
  static void ref(GstSample* p) { gst_sample_ref(p); }
  static void unref(GstSample* p) { gst_sample_unref(p); }
};
template <>
struct RefTraits<GstMessage> {
  static void ref(GstMessage* p) { gst_message_ref(p); }
  static void unref(GstMessage* p) { gst_message_unref(p); }
};
template <>
struct RefTraits<GstEvent> {
  static void ref(GstEvent* p) { gst_event_ref(p); }
  static void unref(GstEvent* p) { gst_event_unref(p); }
};
template <>
struct RefTraits<GstBufferList> {
  static void ref(GstBufferList* p) { gst_buffer_list_ref(p); }
  static void unref(GstBufferList* p) { gst_buffer_list_unref(p); }
};
template <>
struct RefTraits<GBytes> {
  static void ref(GBytes* p) { g_bytes_ref(p); }
  static void unref(GBytes* p) { g_bytes_unref(p); }
};
template <>
struct RefTraits<GMainLoop> {
  static void ref(GMainLoop* p) { g_main_loop_ref(p); }
  static void unref(GMainLoop* p) { g_main_loop_unref(p); }
};
template <>
struct RefTraits<GMainContext> {
  static void ref(GMainContext* p) { g_main_context_ref(p); }
  static void unref(GMainContext* p) { g_main_context_unref(p); }
};
template <>
struct RefTraits<GKeyFile> {
  static void ref(GKeyFile* p) { g_key_file_ref(p); }
  static void unref(GKeyFile* p) { g_key_file_unref(p); }
};

// A counted reference. Construction states whether it adopts the caller's reference or adds one.
template <typename T>
class Ref {
 public:
  Ref() = default;
  Ref(T* p, RefMode mode) : ptr_(p) {
    if (ptr_ && mode == RefMode::add_ref) RefTraits<T>::ref(ptr_);
  }
  static Ref adopt(T* p) { return Ref(p, RefMode::adopt); }
  static Ref add_ref(T* p) { return Ref(p, RefMode::add_ref); }
  // Takes ownership of a newly made GObject that may be floating (GStreamer elements and pipelines
  // are): a floating reference is sunk, so the handle owns a normal one either way and releasing it
  // frees an element that was never added to a bin. GObject types only.
  static Ref adopt_floating(T* p) {
    if (p && g_object_is_floating(p)) g_object_ref_sink(p);
    return Ref(p, RefMode::adopt);
  }

  Ref(const Ref& o) : ptr_(o.ptr_) {
    if (ptr_) RefTraits<T>::ref(ptr_);
  }
  Ref(Ref&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)) {}
  Ref& operator=(Ref o) noexcept {
    std::swap(ptr_, o.ptr_);
    return *this;
  }
  ~Ref() { reset(); }

  void reset() {
    if (ptr_) RefTraits<T>::unref(std::exchange(ptr_, nullptr));
  }
  // Hands the reference to a C API that takes ownership.
  T* release() { return std::exchange(ptr_, nullptr); }
  T* get() const { return ptr_; }
  T* operator->() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  T* ptr_ = nullptr;
};

// Frees newly made elements that were never added to a bin (their floating references are sunk and
// dropped by the handle). For error paths that give up on a chain of elements.
template <typename T>
void release_unadded(const std::vector<T*>& objects) {
  for (T* o : objects) Ref<T>::adopt_floating(o);
}

// Disconnects a signal handler when destroyed.
class SignalGuard {
 public:
  SignalGuard() = default;
  SignalGuard(gpointer instance, gulong id) : instance_(instance), id_(id) {
    if (instance_) g_object_weak_ref(G_OBJECT(instance_), &SignalGuard::on_dispose, this);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  SignalGuard(SignalGuard&& o) noexcept { *this = std::move(o); }
  SignalGuard& operator=(SignalGuard&& o) noexcept {
    if (this != &o) {
      disconnect();
      instance_ = o.instance_;
      id_ = o.id_;
      if (instance_) {
        g_object_weak_unref(G_OBJECT(instance_), &SignalGuard::on_dispose, &o);
        g_object_weak_ref(G_OBJECT(instance_), &SignalGuard::on_dispose, this);
      }
      o.instance_ = nullptr;
      o.id_ = 0;
    }
    return *this;
  }
  ~SignalGuard() { disconnect(); }
  void disconnect() {
    if (instance_) {
      g_object_weak_unref(G_OBJECT(instance_), &SignalGuard::on_dispose, this);
      if (id_ && g_signal_handler_is_connected(instance_, id_)) g_signal_handler_disconnect(instance_, id_);
    }
    instance_ = nullptr;
    id_ = 0;
  }

 private:
  static void on_dispose(gpointer self, GObject*) {
    auto* g = static_cast<SignalGuard*>(self);
    g->instance_ = nullptr;
    g->id_ = 0;
  }
  gpointer instance_ = nullptr;
  gulong id_ = 0;
};

// Removes a GSource (timeout, idle, watch) from its context when destroyed.
class SourceGuard {
 public:
  SourceGuard() = default;
  explicit SourceGuard(GSource* source) : source_(source) {}  // adopts the reference
  SourceGuard(const SourceGuard&) = delete;
  SourceGuard& operator=(const SourceGuard&) = delete;
  SourceGuard(SourceGuard&& o) noexcept : source_(std::exchange(o.source_, nullptr)) {}
  SourceGuard& operator=(SourceGuard&& o) noexcept {
    if (this != &o) {
      reset();
      source_ = std::exchange(o.source_, nullptr);
    }
    return *this;
  }
  ~SourceGuard() { reset(); }
  void reset() {
    if (source_) {
      g_source_destroy(source_);
      g_source_unref(source_);
      source_ = nullptr;
    }
  }
  GSource* get() const { return source_; }
  explicit operator bool() const { return source_ != nullptr; }

 private:
  GSource* source_ = nullptr;
};

// Owned g_malloc'd string.
class GString_ {
 public:
  explicit GString_(gchar* s = nullptr) : s_(s) {}
  GString_(const GString_&) = delete;
  GString_& operator=(const GString_&) = delete;
  ~GString_() { g_free(s_); }
  const gchar* get() const { return s_; }
  gchar** out() { return &s_; }

 private:
  gchar* s_;
};

}  // namespace estuary
