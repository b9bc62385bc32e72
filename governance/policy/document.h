// The typed input documents policies read. Each hook (promotion,
// automation.save, run.step, api.request) has one documented schema; a
// policy's field paths are checked against it at load, and an input is bound
// to it once per decision into a Document: a tree of 16-byte Values whose
// object fields sit at fixed slots, so evaluating `promotion.author` is two
// array reads, with no lookups by name and no allocation.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/core/status.h"

namespace cloister::policy {

enum class Kind : uint8_t { kBool, kInt, kTime, kString, kList, kObject };

// A type in a hook's schema. Immutable once built; owned by its Schema (or
// static, for the scalars).
struct Type {
  Kind kind = Kind::kBool;
  const Type* element = nullptr;                             // kList
  std::vector<std::pair<std::string, const Type*>> fields;   // kObject, in slot order

  // The field's slot, or -1.
  int FieldSlot(std::string_view name) const;
  std::string FieldNames() const;
  // "bool", "int", "time", "string", "list<string>", "object".
  std::string Name() const;
};

const Type* BoolType();
const Type* IntType();
const Type* TimeType();
const Type* StringType();

// A value during evaluation. Strings and lists point into a Document, a
// Program's constants or the evaluator's scratch space, which outlive it.
// An absent input field reads as its type's zero value: false, 0, the epoch,
// "", [] or an object of zero values.
struct Value {
  Kind kind = Kind::kBool;
  uint32_t size = 0;  // string length, list length or object field count
  union {
    int64_t integer = 0;  // bool (0/1), int, time (Unix seconds)
    const char* chars;
    const Value* items;  // list elements, or object fields in slot order
  };

  std::string_view str() const { return {size ? chars : "", size}; }
  static Value Bool(bool b) {
    Value v;
    v.kind = Kind::kBool;
    v.integer = b ? 1 : 0;
    return v;
  }
  static Value Int(int64_t i, Kind kind = Kind::kInt) {
    Value v;
    v.kind = kind;
    v.integer = i;
    return v;
  }
  static Value String(std::string_view s) {
    Value v;
    v.kind = Kind::kString;
    v.chars = s.data();
    v.size = static_cast<uint32_t>(s.size());
    return v;
  }
};
static_assert(sizeof(Value) == 16, "Value stays two words");

// Owns the bytes Values point to. Addresses are stable for its lifetime.
class ValueArena {
 public:
  std::string_view Keep(std::string s);
  Value* Array(size_t n);

 private:
  std::deque<std::string> strings_;
  std::deque<std::vector<Value>> arrays_;
};

// The schema of one hook's input document.
class Schema {
 public:
  const std::string& hook() const { return hook_; }
  const Type& root() const { return *root_; }

  // Builders, for the hook table.
  const Type* List(const Type* element);
  const Type* Object(std::vector<std::pair<std::string, const Type*>> fields);

  explicit Schema(std::string hook) : hook_(std::move(hook)) {}
  void SetRoot(const Type* root) { root_ = root; }

 private:
  std::string hook_;
  std::deque<Type> types_;
  const Type* root_ = nullptr;
};

// The schema of `hook`, or nullptr for an unknown hook. The schemas are
// built once and never change.
const Schema* HookSchema(std::string_view hook);
const std::vector<std::string>& HookNames();

// An input bound to a schema. Move-only; Values from root() stay valid while
// it lives.
class Document {
 public:
  // Binds `input` (a JSON object) to `schema`. invalid_argument naming the
  // JSON pointer of the first unknown field or wrong type ("/promotion/approvals/0/user:
  // expected a string"). Times are RFC 3339 UTC strings ("2026-11-22T10:00:00Z").
  static Result<Document> Bind(const Schema& schema, const Json& input);

  const Value& root() const { return root_; }
  const Schema& schema() const { return *schema_; }

 private:
  Document() : arena_(std::make_unique<ValueArena>()) {}
  const Schema* schema_ = nullptr;
  std::unique_ptr<ValueArena> arena_;
  Value root_;
};

// A Value as JSON (times as RFC 3339 strings), for explanations.
Json ToJson(const Value& v, const Type& type);
// A Value as JSON text appended to `out`, lists cut after `max_items` with a
// final "... N more" string, strings after `max_chars` bytes.
void AppendJson(const Value& v, const Type& type, std::string& out, uint32_t max_items = UINT32_MAX,
                size_t max_chars = SIZE_MAX);
// A Value as text for message templates: strings bare, the rest as JSON.
std::string ToText(const Value& v, const Type& type);
// The zero value of `type`, built in `arena` (objects need their fields).
Value ZeroValue(const Type& type, ValueArena& arena);

}  // namespace cloister::policy
