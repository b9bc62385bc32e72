#include "governance/policy/document.h"

#include "appliance/core/encoding.h"
#include "audit/verify/jcs.h"
#include "governance/policy/calendar.h"

namespace cloister::policy {

int Type::FieldSlot(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].first == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Type::FieldNames() const {
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : ", ") + f.first;
  return out;
}

std::string Type::Name() const {
  switch (kind) {
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kTime: return "time";
    case Kind::kString: return "string";
    case Kind::kList: return "list<" + element->Name() + ">";
    case Kind::kObject: return "object";
  }
  return "?";
}

namespace {
const Type kBool{Kind::kBool, nullptr, {}};
const Type kInt{Kind::kInt, nullptr, {}};
const Type kTime{Kind::kTime, nullptr, {}};
const Type kString{Kind::kString, nullptr, {}};
}  // namespace

const Type* BoolType() { return &kBool; }
const Type* IntType() { return &kInt; }
const Type* TimeType() { return &kTime; }
const Type* StringType() { return &kString; }

std::string_view ValueArena::Keep(std::string s) {
  strings_.push_back(std::move(s));
  return strings_.back();
}

Value* ValueArena::Array(size_t n) {
  arrays_.emplace_back(n);
  return arrays_.back().data();
}

const Type* Schema::List(const Type* element) {
  types_.push_back(Type{Kind::kList, element, {}});
  return &types_.back();
}

const Type* Schema::Object(std::vector<std::pair<std::string, const Type*>> fields) {
  types_.push_back(Type{Kind::kObject, nullptr, std::move(fields)});
  return &types_.back();
}

Value ZeroValue(const Type& type, ValueArena& arena) {
  Value v;
  v.kind = type.kind;
  if (type.kind == Kind::kObject) {
    Value* fields = arena.Array(type.fields.size());
    for (size_t i = 0; i < type.fields.size(); ++i) fields[i] = ZeroValue(*type.fields[i].second, arena);
    v.items = fields;
    v.size = static_cast<uint32_t>(type.fields.size());
  }
  return v;
}

namespace {

class Binder {
 public:
  explicit Binder(ValueArena& arena) : arena_(arena) {}

  Status Bind(const Type& type, const Json& j, const std::string& pointer, Value& out) {
    if (++depth_ > 32) return Error(pointer, "nesting is deeper than 32 levels");
    Status s = BindValue(type, j, pointer, out);
    --depth_;
    return s;
  }

 private:
  static Status Error(const std::string& pointer, const std::string& what) {
    return Status::InvalidArgument("input " + (pointer.empty() ? std::string("/") : pointer) + ": " + what);
  }

  Status BindValue(const Type& type, const Json& j, const std::string& pointer, Value& out) {
    out.kind = type.kind;
    if (j.is_null()) {
      out = ZeroValue(type, arena_);
      return Status::Ok();
    }
    switch (type.kind) {
      case Kind::kBool:
        if (!j.is_boolean()) return Error(pointer, "expected true or false");
        out.integer = j.get<bool>() ? 1 : 0;
        return Status::Ok();
      case Kind::kInt:
        if (!j.is_number_integer()) return Error(pointer, "expected an integer");
        if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
          return Error(pointer, "integer out of range");
        }
        out.integer = j.get<int64_t>();
        return Status::Ok();
      case Kind::kTime: {
        const auto t = j.is_string() ? ParseTime(j.get_ref<const std::string&>()) : std::nullopt;
        if (!t) return Error(pointer, "expected an RFC 3339 time such as \"2026-11-22T10:00:00Z\"");
        out.integer = *t;
        return Status::Ok();
      }
      case Kind::kString: {
        if (!j.is_string()) return Error(pointer, "expected a string");
        const std::string& s = j.get_ref<const std::string&>();
        if (s.size() > UINT32_MAX / 2) return Error(pointer, "string too long");
        if (!IsValidUtf8(s)) return Error(pointer, "string is not valid UTF-8");
        out = Value::String(arena_.Keep(s));
        return Status::Ok();
      }
      case Kind::kList: {
        if (!j.is_array()) return Error(pointer, "expected a list");
        Value* items = arena_.Array(j.size());
        for (size_t i = 0; i < j.size(); ++i) {
          CL_RETURN_IF_ERROR(Bind(*type.element, j[i], pointer + "/" + std::to_string(i), items[i]));
        }
        out.items = items;
        out.size = static_cast<uint32_t>(j.size());
        return Status::Ok();
      }
      case Kind::kObject: {
        if (!j.is_object()) return Error(pointer, "expected an object");
        for (auto it = j.begin(); it != j.end(); ++it) {
          if (type.FieldSlot(it.key()) < 0) {
            return Error(pointer + "/" + JsonPointerToken(it.key()),
                         "unknown field (fields here: " + type.FieldNames() + ")");
          }
        }
        Value* fields = arena_.Array(type.fields.size());
        for (size_t i = 0; i < type.fields.size(); ++i) {
          const auto& [name, field_type] = type.fields[i];
          const auto found = j.find(name);
          if (found == j.end()) {
            fields[i] = ZeroValue(*field_type, arena_);
          } else {
            CL_RETURN_IF_ERROR(Bind(*field_type, *found, pointer + "/" + JsonPointerToken(name), fields[i]));
          }
        }
        out.items = fields;
        out.size = static_cast<uint32_t>(type.fields.size());
        return Status::Ok();
      }
    }
    return Error(pointer, "unsupported type");
  }

  ValueArena& arena_;
  int depth_ = 0;
};

}  // namespace

Result<Document> Document::Bind(const Schema& schema, const Json& input) {
  if (!input.is_object()) return Status::InvalidArgument("input: expected a JSON object");
  Document doc;
  doc.schema_ = &schema;
  Binder binder(*doc.arena_);
  CL_RETURN_IF_ERROR(binder.Bind(schema.root(), input, "", doc.root_));
  return doc;
}

Json ToJson(const Value& v, const Type& type) {
  switch (type.kind) {
    case Kind::kBool: return v.integer != 0;
    case Kind::kInt: return v.integer;
    case Kind::kTime: return FormatTime(v.integer);
    case Kind::kString: return std::string(v.str());
    case Kind::kList: {
      Json out = Json::array();
      for (uint32_t i = 0; i < v.size; ++i) out.push_back(ToJson(v.items[i], *type.element));
      return out;
    }
    case Kind::kObject: {
      Json out = Json::object();
      for (uint32_t i = 0; i < v.size && i < type.fields.size(); ++i) {
        out[type.fields[i].first] = ToJson(v.items[i], *type.fields[i].second);
      }
      return out;
    }
  }
  return nullptr;
}

// Strings in explanations are quoted as RFC 8785 does: valid JSON, and the
// same bytes the ledger would write.
void AppendQuoted(std::string_view s, std::string& out) { verify::AppendString(s, out); }

void AppendJson(const Value& v, const Type& type, std::string& out, uint32_t max_items, size_t max_chars) {
  switch (type.kind) {
    case Kind::kBool: out += v.integer ? "true" : "false"; return;
    case Kind::kInt: out += std::to_string(v.integer); return;
    case Kind::kTime: AppendQuoted(FormatTime(v.integer), out); return;
    case Kind::kString:
      if (v.size > max_chars) {
        size_t cut = max_chars;
        while (cut > 0 && (static_cast<unsigned char>(v.str()[cut]) & 0xC0) == 0x80) --cut;  // whole characters
        AppendQuoted(std::string(v.str().substr(0, cut)) + "...", out);
      } else {
        AppendQuoted(v.str(), out);
      }
      return;
    case Kind::kList: {
      out += '[';
      const uint32_t shown = v.size < max_items ? v.size : max_items;
      for (uint32_t i = 0; i < shown; ++i) {
        if (i) out += ',';
        AppendJson(v.items[i], *type.element, out, max_items, max_chars);
      }
      if (shown < v.size) AppendQuoted((shown ? ",... " : "... ") + std::to_string(v.size - shown) + " more", out);
      out += ']';
      return;
    }
    case Kind::kObject:
      out += '{';
      for (uint32_t i = 0; i < v.size && i < type.fields.size(); ++i) {
        if (i) out += ',';
        AppendQuoted(type.fields[i].first, out);
        out += ':';
        AppendJson(v.items[i], *type.fields[i].second, out, max_items, max_chars);
      }
      out += '}';
      return;
  }
}

std::string ToText(const Value& v, const Type& type) {
  if (type.kind == Kind::kString) return std::string(v.str());
  if (type.kind == Kind::kInt) return std::to_string(v.integer);
  if (type.kind == Kind::kBool) return v.integer ? "true" : "false";
  if (type.kind == Kind::kTime) return FormatTime(v.integer);
  const Json j = ToJson(v, type);
  return j.is_string() ? j.get<std::string>() : j.dump();
}

}  // namespace cloister::policy
