// Owns: AMF0 encoding and bounded decoding (see amf0.h).
#include "common/amf0.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace estuary {

namespace {

enum Marker : uint8_t {
  kNumber = 0x00,
  kBoolean = 0x01,
  kString = 0x02,
  kObject = 0x03,
  kMovieClip = 0x04,
  kNull = 0x05,
  kUndefined = 0x06,
  kReference = 0x07,
  kEcmaArray = 0x08,
  kObjectEnd = 0x09,
  kStrictArray = 0x0A,
  kDate = 0x0B,
  kLongString = 0x0C,
  kUnsupported = 0x0D,
  kRecordSet = 0x0E,
  kXmlDocument = 0x0F,
  kTypedObject = 0x10,
  kAvmPlus = 0x11,
};

void put_u16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_double(std::vector<uint8_t>& out, double v) {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(bits >> shift));
}

// Property keys are always short strings; longer keys cannot be represented and are truncated.
void put_key(std::vector<uint8_t>& out, std::string_view key) {
  size_t n = key.size() > 0xFFFF ? 0xFFFF : key.size();
  put_u16(out, static_cast<uint16_t>(n));
  out.insert(out.end(), key.begin(), key.begin() + static_cast<std::ptrdiff_t>(n));
}

Error amf_error(std::string what) { return Error{"amf0: " + std::move(what), ErrorReason::invalid, "rtmp"}; }

}  // namespace

const char* amf0_type_name(Amf0Type type) {
  switch (type) {
    case Amf0Type::number:
      return "number";
    case Amf0Type::boolean:
      return "boolean";
    case Amf0Type::string:
      return "string";
    case Amf0Type::object:
      return "object";
    case Amf0Type::null:
      return "null";
    case Amf0Type::undefined:
      return "undefined";
    case Amf0Type::ecma_array:
      return "ecma-array";
    case Amf0Type::strict_array:
      return "strict-array";
    case Amf0Type::date:
      return "date";
  }
  return "?";
}

Amf0Value Amf0Value::number(double v) {
  Amf0Value r;
  r.type_ = Amf0Type::number;
  r.number_ = v;
  return r;
}

Amf0Value Amf0Value::boolean(bool v) {
  Amf0Value r;
  r.type_ = Amf0Type::boolean;
  r.boolean_ = v;
  return r;
}

Amf0Value Amf0Value::string(std::string v) {
  Amf0Value r;
  r.type_ = Amf0Type::string;
  r.string_ = std::move(v);
  return r;
}

Amf0Value Amf0Value::null() { return Amf0Value(); }

Amf0Value Amf0Value::undefined() {
  Amf0Value r;
  r.type_ = Amf0Type::undefined;
  return r;
}

Amf0Value Amf0Value::object() {
  Amf0Value r;
  r.type_ = Amf0Type::object;
  return r;
}

Amf0Value Amf0Value::ecma_array() {
  Amf0Value r;
  r.type_ = Amf0Type::ecma_array;
  return r;
}

Amf0Value Amf0Value::strict_array() {
  Amf0Value r;
  r.type_ = Amf0Type::strict_array;
  return r;
}

Amf0Value Amf0Value::date(double ms_since_epoch, int16_t timezone_minutes) {
  Amf0Value r;
  r.type_ = Amf0Type::date;
  r.number_ = ms_since_epoch;
  r.timezone_ = timezone_minutes;
  return r;
}

const Amf0Value* Amf0Value::get(std::string_view key) const {
  for (const auto& p : properties_) {
    if (p.key == key) return &p.value;
  }
  return nullptr;
}

Amf0Value& Amf0Value::set(std::string key, Amf0Value value) {
  for (auto& p : properties_) {
    if (p.key == key) {
      p.value = std::move(value);
      return p.value;
    }
  }
  properties_.push_back(Amf0Property{std::move(key), std::move(value)});
  return properties_.back().value;
}

std::string Amf0Value::get_string(std::string_view key, std::string_view fallback) const {
  const Amf0Value* v = get(key);
  if (v == nullptr || !v->is_string()) return std::string(fallback);
  return v->as_string();
}

double Amf0Value::get_number(std::string_view key, double fallback) const {
  const Amf0Value* v = get(key);
  if (v == nullptr || !v->is_number()) return fallback;
  return v->as_number();
}

Amf0Value& Amf0Value::push(Amf0Value value) {
  elements_.push_back(std::move(value));
  return elements_.back();
}

bool Amf0Value::operator==(const Amf0Value& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Amf0Type::number:
      // NaN compares equal to NaN here: round-trip tests care about bits, not arithmetic.
      return number_ == other.number_ || (std::isnan(number_) && std::isnan(other.number_));
    case Amf0Type::boolean:
      return boolean_ == other.boolean_;
    case Amf0Type::string:
      return string_ == other.string_;
    case Amf0Type::null:
    case Amf0Type::undefined:
      return true;
    case Amf0Type::object:
    case Amf0Type::ecma_array:
      return properties_ == other.properties_;
    case Amf0Type::strict_array:
      return elements_ == other.elements_;
    case Amf0Type::date:
      return number_ == other.number_ && timezone_ == other.timezone_;
  }
  return false;
}

void amf0_encode_number(double v, std::vector<uint8_t>& out) {
  out.push_back(kNumber);
  put_double(out, v);
}

void amf0_encode_boolean(bool v, std::vector<uint8_t>& out) {
  out.push_back(kBoolean);
  out.push_back(v ? 1 : 0);
}

void amf0_encode_string(std::string_view v, std::vector<uint8_t>& out) {
  if (v.size() <= 0xFFFF) {
    out.push_back(kString);
    put_u16(out, static_cast<uint16_t>(v.size()));
  } else {
    out.push_back(kLongString);
    // A long string carries at most 4 GiB; anything beyond is not representable.
    size_t n = v.size() > 0xFFFFFFFFu ? 0xFFFFFFFFu : v.size();
    put_u32(out, static_cast<uint32_t>(n));
    v = v.substr(0, n);
  }
  out.insert(out.end(), v.begin(), v.end());
}

void amf0_encode_null(std::vector<uint8_t>& out) { out.push_back(kNull); }

void amf0_encode(const Amf0Value& value, std::vector<uint8_t>& out) {
  switch (value.type()) {
    case Amf0Type::number:
      amf0_encode_number(value.as_number(), out);
      return;
    case Amf0Type::boolean:
      amf0_encode_boolean(value.as_boolean(), out);
      return;
    case Amf0Type::string:
      amf0_encode_string(value.as_string(), out);
      return;
    case Amf0Type::null:
      out.push_back(kNull);
      return;
    case Amf0Type::undefined:
      out.push_back(kUndefined);
      return;
    case Amf0Type::object:
    case Amf0Type::ecma_array:
      if (value.type() == Amf0Type::object) {
        out.push_back(kObject);
      } else {
        out.push_back(kEcmaArray);
        put_u32(out, static_cast<uint32_t>(value.properties().size()));
      }
      for (const auto& p : value.properties()) {
        put_key(out, p.key);
        amf0_encode(p.value, out);
      }
      put_u16(out, 0);
      out.push_back(kObjectEnd);
      return;
    case Amf0Type::strict_array:
      out.push_back(kStrictArray);
      put_u32(out, static_cast<uint32_t>(value.elements().size()));
      for (const auto& e : value.elements()) amf0_encode(e, out);
      return;
    case Amf0Type::date:
      out.push_back(kDate);
      put_double(out, value.as_number());
      put_u16(out, static_cast<uint16_t>(value.date_timezone()));
      return;
  }
}

std::vector<uint8_t> amf0_encode_all(const std::vector<Amf0Value>& values) {
  std::vector<uint8_t> out;
  for (const auto& v : values) amf0_encode(v, out);
  return out;
}

Amf0Decoder::Amf0Decoder(const uint8_t* data, size_t size, Amf0Limits limits)
    : data_(data), size_(data == nullptr ? 0 : size), limits_(limits) {}

Result<Amf0Value> Amf0Decoder::next() {
  if (at_end()) return amf_error("no more values");
  return decode_value(0);
}

Status Amf0Decoder::count_element() {
  if (++elements_ > limits_.max_elements) return amf_error("too many elements");
  return ok_status();
}

Result<std::string> Amf0Decoder::read_string(size_t length_bytes) {
  if (remaining() < length_bytes) return amf_error("truncated string length");
  uint64_t n = 0;
  for (size_t i = 0; i < length_bytes; i++) n = (n << 8) | data_[pos_ + i];
  pos_ += length_bytes;
  // Checked against the remaining input before anything is allocated.
  if (n > remaining()) return amf_error("string length " + std::to_string(n) + " exceeds input");
  if (n > limits_.max_string_length) return amf_error("string too long");
  std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return s;
}

Status Amf0Decoder::decode_properties(Amf0Value& map, size_t depth) {
  for (;;) {
    if (remaining() < 2) return amf_error("truncated object");
    size_t key_len = (size_t(data_[pos_]) << 8) | data_[pos_ + 1];
    if (key_len == 0) {
      if (remaining() < 3) return amf_error("truncated object end");
      if (data_[pos_ + 2] != kObjectEnd) return amf_error("empty property name");
      pos_ += 3;
      return ok_status();
    }
    auto key = read_string(2);
    if (!key.ok()) return key.error();
    if (at_end()) return amf_error("truncated property value");
    auto value = decode_value(depth + 1);
    if (!value.ok()) return value.error();
    // Duplicate keys keep the last value, as Flash does.
    map.set(std::move(*key), std::move(*value));
  }
}

Result<Amf0Value> Amf0Decoder::decode_value(size_t depth) {
  if (depth >= limits_.max_depth) return amf_error("nesting too deep");
  if (at_end()) return amf_error("truncated value");
  if (Status s = count_element(); !s.ok()) return s.error();
  uint8_t marker = data_[pos_++];
  switch (marker) {
    case kNumber: {
      if (remaining() < 8) return amf_error("truncated number");
      uint64_t bits = 0;
      for (int i = 0; i < 8; i++) bits = (bits << 8) | data_[pos_ + i];
      pos_ += 8;
      return Amf0Value::number(std::bit_cast<double>(bits));
    }
    case kBoolean:
      if (remaining() < 1) return amf_error("truncated boolean");
      return Amf0Value::boolean(data_[pos_++] != 0);
    case kString:
    case kLongString: {
      auto s = read_string(marker == kString ? 2 : 4);
      if (!s.ok()) return s.error();
      return Amf0Value::string(std::move(*s));
    }
    case kNull:
      return Amf0Value::null();
    case kUndefined:
      return Amf0Value::undefined();
    case kObject: {
      Amf0Value obj = Amf0Value::object();
      if (Status s = decode_properties(obj, depth); !s.ok()) return s.error();
      return obj;
    }
    case kEcmaArray: {
      // The declared count is only a hint (encoders disagree on it); the end marker is authoritative.
      if (remaining() < 4) return amf_error("truncated ecma array");
      pos_ += 4;
      Amf0Value arr = Amf0Value::ecma_array();
      if (Status s = decode_properties(arr, depth); !s.ok()) return s.error();
      return arr;
    }
    case kStrictArray: {
      if (remaining() < 4) return amf_error("truncated strict array");
      uint64_t count = (uint64_t(data_[pos_]) << 24) | (uint64_t(data_[pos_ + 1]) << 16) |
                       (uint64_t(data_[pos_ + 2]) << 8) | data_[pos_ + 3];
      pos_ += 4;
      // Every element takes at least one byte, so a count beyond the input is a lie.
      if (count > remaining()) return amf_error("strict array count exceeds input");
      if (count > limits_.max_elements) return amf_error("too many elements");
      Amf0Value arr = Amf0Value::strict_array();
      for (uint64_t i = 0; i < count; i++) {
        auto v = decode_value(depth + 1);
        if (!v.ok()) return v.error();
        arr.push(std::move(*v));
      }
      return arr;
    }
    case kDate: {
      if (remaining() < 10) return amf_error("truncated date");
      uint64_t bits = 0;
      for (int i = 0; i < 8; i++) bits = (bits << 8) | data_[pos_ + i];
      int16_t tz = static_cast<int16_t>((uint16_t(data_[pos_ + 8]) << 8) | data_[pos_ + 9]);
      pos_ += 10;
      return Amf0Value::date(std::bit_cast<double>(bits), tz);
    }
    case kObjectEnd:
      return amf_error("unexpected object end marker");
    case kMovieClip:
    case kReference:
    case kUnsupported:
    case kRecordSet:
    case kXmlDocument:
    case kTypedObject:
    case kAvmPlus:
      return amf_error("unsupported marker " + std::to_string(marker));
    default:
      return amf_error("unknown marker " + std::to_string(marker));
  }
}

Result<std::vector<Amf0Value>> amf0_decode_all(const uint8_t* data, size_t size, size_t max_values, Amf0Limits limits) {
  Amf0Decoder dec(data, size, limits);
  std::vector<Amf0Value> values;
  while (!dec.at_end()) {
    if (values.size() >= max_values) return amf_error("too many values");
    auto v = dec.next();
    if (!v.ok()) return v.error();
    values.push_back(std::move(*v));
  }
  return values;
}

}  // namespace estuary
