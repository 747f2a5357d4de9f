// Owns: the AMF0 value model (RTMP commands and data messages, FLV script tags), its encoder, and a bounded
// decoder. The decoder treats its input as hostile: nesting depth, total element count and string
// lengths are bounded, and malformed or truncated input yields an Error (never a crash, never an
// allocation sized by an untrusted length field). Reference, XML, typed-object, movieclip,
// recordset and AMF3-switch markers are rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace estuary {

enum class Amf0Type : uint8_t {
  number,
  boolean,
  string,  // short (0x02) or long (0x0C) on the wire; the encoder picks by length
  object,
  null,
  undefined,
  ecma_array,
  strict_array,
  date,
};

const char* amf0_type_name(Amf0Type type);

struct Amf0Property;

class Amf0Value {
 public:
  Amf0Value() = default;  // null

  static Amf0Value number(double v);
  static Amf0Value boolean(bool v);
  static Amf0Value string(std::string v);
  static Amf0Value null();
  static Amf0Value undefined();
  static Amf0Value object();
  static Amf0Value ecma_array();
  static Amf0Value strict_array();
  static Amf0Value date(double ms_since_epoch, int16_t timezone_minutes = 0);

  Amf0Type type() const { return type_; }
  bool is_number() const { return type_ == Amf0Type::number; }
  bool is_string() const { return type_ == Amf0Type::string; }
  bool is_boolean() const { return type_ == Amf0Type::boolean; }
  bool is_null() const { return type_ == Amf0Type::null; }
  bool is_undefined() const { return type_ == Amf0Type::undefined; }
  // Object or ECMA array: both are key/value maps on the wire.
  bool is_map() const { return type_ == Amf0Type::object || type_ == Amf0Type::ecma_array; }

  double as_number() const { return number_; }  // also the date's milliseconds
  bool as_boolean() const { return boolean_; }
  const std::string& as_string() const { return string_; }
  int16_t date_timezone() const { return timezone_; }

  // Map access (object / ECMA array). Keys keep their wire order; set() replaces an existing key.
  const std::vector<Amf0Property>& properties() const { return properties_; }
  const Amf0Value* get(std::string_view key) const;
  Amf0Value& set(std::string key, Amf0Value value);
  // Convenience lookups: the string / number under key, or the fallback when absent or another type.
  std::string get_string(std::string_view key, std::string_view fallback = {}) const;
  double get_number(std::string_view key, double fallback = 0) const;

  // Strict array access.
  const std::vector<Amf0Value>& elements() const { return elements_; }
  Amf0Value& push(Amf0Value value);

  bool operator==(const Amf0Value& other) const;

 private:
  friend class Amf0Decoder;

  Amf0Type type_ = Amf0Type::null;
  bool boolean_ = false;
  int16_t timezone_ = 0;
  double number_ = 0;
  std::string string_;
  std::vector<Amf0Property> properties_;
  std::vector<Amf0Value> elements_;
};

struct Amf0Property {
  std::string key;
  Amf0Value value;
  bool operator==(const Amf0Property& other) const { return key == other.key && value == other.value; }
};

// Encoder: appends the wire form of value to out.
void amf0_encode(const Amf0Value& value, std::vector<uint8_t>& out);
void amf0_encode_number(double v, std::vector<uint8_t>& out);
void amf0_encode_string(std::string_view v, std::vector<uint8_t>& out);
void amf0_encode_boolean(bool v, std::vector<uint8_t>& out);
void amf0_encode_null(std::vector<uint8_t>& out);
std::vector<uint8_t> amf0_encode_all(const std::vector<Amf0Value>& values);

struct Amf0Limits {
  size_t max_depth = 32;                // nested objects / arrays
  size_t max_elements = 65536;          // values (including nested ones) over the decoder's lifetime
  size_t max_string_length = 1u << 20;  // bytes of one string or key
};

// Decodes consecutive values from a byte range it does not own.
class Amf0Decoder {
 public:
  Amf0Decoder(const uint8_t* data, size_t size, Amf0Limits limits = {});

  bool at_end() const { return pos_ >= size_; }
  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  // The next value; on Error the decoder's position is unspecified and it should be dropped.
  Result<Amf0Value> next();

 private:
  Result<Amf0Value> decode_value(size_t depth);
  Status decode_properties(Amf0Value& map, size_t depth);
  Result<std::string> read_string(size_t length_bytes);
  Status count_element();

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t elements_ = 0;
  Amf0Limits limits_;
};

// Decodes values until the input ends; more than max_values values is an Error.
Result<std::vector<Amf0Value>> amf0_decode_all(const uint8_t* data, size_t size, size_t max_values,
                                               Amf0Limits limits = {});

}  // namespace estuary
