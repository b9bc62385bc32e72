#include "appliance/runtime/templating.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "appliance/core/encoding.h"
#include "governance/policy/document.h"
#include "governance/policy/expression.h"

namespace cloister::runtime {

namespace {

// ---- References ---------------------------------------------------------------

struct Segment {
  bool is_index = false;
  std::string field;
  size_t index = 0;
};

struct Reference {
  std::string_view written;  // "${...}" as in the definition, for messages
  std::string ns, name;
  bool status = false;  // steps.ID.status
  std::vector<Segment> path;
};

Status RefError(std::string_view written, const std::string& what) {
  return Status::InvalidArgument(std::string(written) + ": " + what);
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// ".field" and "[N]" segments from `at` to the end of `body`.
Status ParsePath(std::string_view body, size_t at, Reference& ref) {
  while (at < body.size()) {
    Segment seg;
    if (body[at] == '.') {
      const size_t end = std::min(body.find_first_of(".[]", at + 1), body.size());
      if (end == at + 1) return RefError(ref.written, "empty field name after \".\"");
      seg.field = std::string(body.substr(at + 1, end - at - 1));
      at = end;
    } else if (body[at] == '[') {
      const size_t close = body.find(']', at);
      const std::string_view digits =
          close == std::string_view::npos ? "" : body.substr(at + 1, close - at - 1);
      if (digits.empty() || digits.size() > 9 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return RefError(ref.written, "an index is written [N] with N a non-negative integer");
      }
      seg.is_index = true;
      seg.index = std::stoul(std::string(digits));
      at = close + 1;
    } else {
      return RefError(ref.written, "expected \".field\" or \"[N]\" after \"" +
                                       std::string(body.substr(0, at)) + "\"");
    }
    ref.path.push_back(std::move(seg));
  }
  return Status::Ok();
}

// `body` is the text between "${" and "}".
Result<Reference> ParseReference(std::string_view body, std::string_view written) {
  Reference ref;
  ref.written = written;
  const size_t dot = body.find('.');
  ref.ns = std::string(body.substr(0, dot));
  if (ref.ns != "inputs" && ref.ns != "vars" && ref.ns != "secrets" && ref.ns != "steps") {
    return RefError(written,
                    "expected ${inputs.NAME}, ${vars.NAME}, ${secrets.NAME}, ${steps.ID.output} or "
                    "${steps.ID.status}");
  }
  size_t at = dot == std::string_view::npos ? body.size() : dot + 1;
  const size_t name_begin = at;
  while (at < body.size() && IsNameChar(body[at])) ++at;
  ref.name = std::string(body.substr(name_begin, at - name_begin));
  if (ref.name.empty()) return RefError(written, "expected a name (letters, digits, _ and -)");
  if (ref.ns == "vars" || ref.ns == "secrets") {
    if (at != body.size()) return RefError(written, ref.ns + " take a single name");
    return ref;
  }
  if (ref.ns == "steps") {
    const std::string_view rest = body.substr(at);
    if (rest == ".status") {
      ref.status = true;
      return ref;
    }
    if (rest.substr(0, 7) != ".output" || (rest.size() > 7 && rest[7] != '.' && rest[7] != '[')) {
      return RefError(written, "expected ${steps.ID.output...} or ${steps.ID.status}");
    }
    at += 7;
  }
  CL_RETURN_IF_ERROR(ParsePath(body, at, ref));
  return ref;
}

const char* Describe(const Json& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "a list";
  if (j.is_string()) return "a string";
  if (j.is_number()) return "a number";
  if (j.is_boolean()) return "a boolean";
  return "null";
}

// What a reference names: a JSON value in the scope, or a variable's or
// secret's text.
struct Resolved {
  const Json* json = nullptr;
  const std::string* text = nullptr;
};

Result<const Json*> Walk(const Reference& ref, const Json* at) {
  for (const Segment& seg : ref.path) {
    if (seg.is_index) {
      if (!at->is_array()) {
        return RefError(ref.written, "no element " + std::to_string(seg.index) + ": the value is " +
                                         Describe(*at) + ", not a list");
      }
      if (seg.index >= at->size()) {
        return RefError(ref.written, "no element " + std::to_string(seg.index) + " (the list has " +
                                         std::to_string(at->size()) + ")");
      }
      at = &(*at)[seg.index];
    } else {
      const auto found = at->is_object() ? at->find(seg.field) : at->end();
      if (!at->is_object() || found == at->end()) {
        return RefError(ref.written, "no field \"" + seg.field + "\"" +
                                         (at->is_object() ? std::string()
                                                          : std::string(": the value is ") +
                                                                Describe(*at) + ", not an object"));
      }
      at = &*found;
    }
  }
  return at;
}

const std::string* FindText(const std::map<std::string, std::string>& map, const std::string& key) {
  const auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

Result<Resolved> Resolve(const Reference& ref, const RunScope& scope, bool allow_secrets) {
  Resolved out;
  if (ref.ns == "secrets") {
    // Before the lookup, so a refused reference reveals nothing about the store.
    if (!allow_secrets) return RefError(ref.written, "secrets may not be used here");
    out.text = FindText(scope.secrets, ref.name);
    if (out.text == nullptr) return RefError(ref.written, "no secret \"" + ref.name + "\"");
    return out;
  }
  if (ref.ns == "vars") {
    out.text = FindText(scope.vars, ref.name);
    if (out.text == nullptr) return RefError(ref.written, "no variable \"" + ref.name + "\"");
    return out;
  }
  if (ref.ns == "inputs") {
    const auto found = scope.inputs.is_object() ? scope.inputs.find(ref.name) : scope.inputs.end();
    if (!scope.inputs.is_object() || found == scope.inputs.end()) {
      return RefError(ref.written, "no input \"" + ref.name + "\"");
    }
    CL_ASSIGN_OR_RETURN(out.json, Walk(ref, &*found));
    return out;
  }
  const auto step = scope.steps.is_object() ? scope.steps.find(ref.name) : scope.steps.end();
  if (!scope.steps.is_object() || step == scope.steps.end() || !step->is_object()) {
    return RefError(ref.written, "no finished step \"" + ref.name + "\"");
  }
  const char* field = ref.status ? "status" : "output";
  const auto value = step->find(field);
  if (value == step->end()) {
    return RefError(ref.written, "step \"" + ref.name + "\" has no " + field);
  }
  CL_ASSIGN_OR_RETURN(out.json, Walk(ref, &*value));
  return out;
}

Status AppendResolved(const Reference& ref, const Resolved& r, std::string& out) {
  if (r.text != nullptr) {
    out += *r.text;
  } else if (r.json->is_string()) {
    out += r.json->get_ref<const std::string&>();
  } else if (!r.json->is_null()) {
    try {
      out += r.json->dump();
    } catch (const Json::exception& e) {
      return RefError(ref.written, "the value cannot be written as JSON: " + std::string(e.what()));
    }
  }
  return Status::Ok();
}

// ---- The expressions' view of the scope ----------------------------------------

constexpr int kMaxDepth = 32;  // Document::Bind's nesting limit; the root is level 1

// The inferred type of a JSON value, before it becomes a policy::Type.
struct Shape {
  enum Kind { kNull, kBool, kInt, kString, kNumText, kList, kObject, kLeftOut } kind = kNull;
  std::vector<Shape> element;                         // kList: one, or none while untyped
  std::vector<std::pair<std::string, Shape>> fields;  // kObject
  std::string why;                                    // kLeftOut
};

const char* KindName(Shape::Kind k) {
  static const char* const kNames[] = {"null",   "bool", "int",    "string",
                                       "string", "list", "object", "unreadable"};
  return kNames[k];
}

// Where a value sits in the view, for notes; built into text only for a note.
struct Path {
  const Path* parent = nullptr;
  std::string_view sep, name;  // ".", "[]" or "" before the root's name
  std::string str() const {
    return (parent ? parent->str() : std::string()) + std::string(sep) + std::string(name);
  }
};

std::string StepField(std::string_view id) {
  std::string out(id);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

class ViewBuilder {
 public:
  explicit ViewBuilder(std::vector<std::string> names) : names_(std::move(names)) {}

  // The document and schema root for `scope`.
  Json Build(const RunScope& scope, policy::Schema& schema) {
    static const Json kEmpty = Json::object();
    const Json& inputs = scope.inputs.is_object() ? scope.inputs : kEmpty;
    const Path inputs_path{nullptr, "", "inputs"}, vars_path{nullptr, "", "vars"},
        steps_path{nullptr, "", "steps"};
    const Shape in = Infer(inputs, 2, inputs_path);
    Shape vars{Shape::kObject, {}, {}, {}};
    Json vars_json = Json::object();
    for (const std::string& name : names_) {
      const std::string* text = FindText(scope.vars, name);
      if (text == nullptr) continue;
      if (!IsValidUtf8(*text)) {
        Note(Path{&vars_path, ".", name}, "not valid UTF-8");
        continue;
      }
      vars.fields.push_back({name, Shape{Shape::kString, {}, {}, {}}});
      vars_json[name] = *text;
    }
    Shape steps{Shape::kObject, {}, {}, {}};
    Json steps_json = Json::object();
    for (const auto& [field, id] : StepIds(scope)) {
      const Json& entry = scope.steps[id];
      const Path path{&steps_path, ".", field};
      Shape s = Infer(entry, 3, path);
      if (s.kind == Shape::kLeftOut) {
        Note(path, s.why);
        continue;
      }
      steps_json[field] = Prune(entry, s);
      steps.fields.push_back({field, std::move(s)});
    }
    schema.SetRoot(schema.Object({{"inputs", TypeOf(in, schema)},
                                  {"vars", TypeOf(vars, schema)},
                                  {"steps", TypeOf(steps, schema)}}));
    // Assigned, not an initializer list, which would copy each part.
    Json view = Json::object();
    view["inputs"] = Prune(inputs, in);
    view["vars"] = std::move(vars_json);
    view["steps"] = std::move(steps_json);
    return view;
  }

  // Why named fields were left out, for compile errors.
  std::string Notes() const {
    std::string out;
    for (size_t i = 0; i < notes_.size() && i < 3; ++i) out += (i ? "; " : "") + notes_[i];
    if (notes_.size() > 3) out += "; and " + std::to_string(notes_.size() - 3) + " more";
    return out;
  }

 private:
  bool Named(std::string_view name) const {
    return std::binary_search(names_.begin(), names_.end(), name);
  }

  void Note(const Path& path, const std::string& why) {
    std::string note = path.str() + ": " + why;
    if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) notes_.push_back(note);
  }

  // Expression field name -> step id, for the steps the expression names.
  std::vector<std::pair<std::string, std::string>> StepIds(const RunScope& scope) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!scope.steps.is_object()) return out;
    std::vector<std::string> ambiguous;
    for (auto it = scope.steps.begin(); it != scope.steps.end(); ++it) {
      std::string field = StepField(it.key());
      if (!Named(field)) continue;
      const auto same =
          std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == field; });
      if (same != out.end()) {
        const Path steps_path{nullptr, "", "steps"};
        Note(Path{&steps_path, ".", field},
             "ambiguous: steps \"" + same->second + "\" and \"" + it.key() + "\"");
        ambiguous.push_back(field);
      }
      out.emplace_back(std::move(field), it.key());
    }
    std::erase_if(out, [&](const auto& p) {
      return std::find(ambiguous.begin(), ambiguous.end(), p.first) != ambiguous.end();
    });
    return out;
  }

  static Shape LeftOut(std::string why) { return Shape{Shape::kLeftOut, {}, {}, std::move(why)}; }

  Shape Infer(const Json& j, int depth, const Path& path) {
    if (depth > kMaxDepth)
      return LeftOut("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    switch (j.type()) {
      case Json::value_t::null:
        return Shape{};
      case Json::value_t::boolean:
        return Shape{Shape::kBool, {}, {}, {}};
      case Json::value_t::number_integer:
        return Shape{Shape::kInt, {}, {}, {}};
      case Json::value_t::number_unsigned:
        return Shape{
            j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? Shape::kNumText : Shape::kInt,
            {},
            {},
            {}};
      case Json::value_t::number_float:
        return Shape{Shape::kNumText, {}, {}, {}};
      case Json::value_t::string:
        if (!IsValidUtf8(j.get_ref<const std::string&>()))
          return LeftOut("a string that is not valid UTF-8");
        return Shape{Shape::kString, {}, {}, {}};
      case Json::value_t::array: {
        Shape list{Shape::kList, {}, {}, {}};
        for (const Json& e : j) {
          Shape s = Infer(e, depth + 1, Path{&path, "[]", ""});
          if (s.kind == Shape::kLeftOut) return LeftOut("an element is " + s.why);
          if (s.kind == Shape::kNull) continue;
          if (list.element.empty()) {
            list.element.push_back(std::move(s));
          } else if (!Merge(list.element[0], s, Path{&path, "[]", ""})) {
            return LeftOut(std::string("a list of mixed types (") + KindName(list.element[0].kind) +
                           " and " + KindName(s.kind) + ")");
          }
        }
        return list;
      }
      case Json::value_t::object: {
        Shape obj{Shape::kObject, {}, {}, {}};
        for (const std::string& name : names_) {
          const auto found = j.find(name);
          if (found == j.end()) continue;
          AddField(obj, name, Infer(*found, depth + 1, Path{&path, ".", name}), path);
        }
        return obj;
      }
      default:
        return LeftOut("not a JSON value");  // binary and discarded values
    }
  }

  // Left-out fields stay in `obj` as kLeftOut, so a later list element cannot
  // bring them back with one of the conflicting types.
  void AddField(Shape& obj, const std::string& name, Shape s, const Path& path) {
    if (s.kind == Shape::kNull) return;
    if (s.kind == Shape::kLeftOut) Note(Path{&path, ".", name}, s.why);
    if (obj.fields.size() >= static_cast<size_t>(policy::kMaxObjectFields)) {
      Note(Path{&path, ".", name},
           "past the first " + std::to_string(policy::kMaxObjectFields) + " fields");
      return;
    }
    obj.fields.emplace_back(name, std::move(s));
  }

  // Widens `into` to hold `s` too; false when they cannot share a type.
  bool Merge(Shape& into, const Shape& s, const Path& path) {
    if (s.kind == Shape::kNull) return true;
    if (into.kind == Shape::kNull) {
      into = s;
      return true;
    }
    const auto numeric = [](Shape::Kind k) { return k == Shape::kInt || k == Shape::kNumText; };
    if (numeric(into.kind) && numeric(s.kind)) {
      if (s.kind == Shape::kNumText) into.kind = Shape::kNumText;
      return true;
    }
    if (into.kind != s.kind || into.kind == Shape::kLeftOut) return false;
    if (into.kind == Shape::kList) {
      if (s.element.empty()) return true;
      if (into.element.empty()) {
        into.element = s.element;
        return true;
      }
      return Merge(into.element[0], s.element[0], Path{&path, "[]", ""});
    }
    if (into.kind == Shape::kObject) {
      for (const auto& [name, field] : s.fields) {
        auto it = std::find_if(into.fields.begin(), into.fields.end(),
                               [&](const auto& f) { return f.first == name; });
        if (it == into.fields.end()) {
          AddField(into, name, field, path);
        } else if (it->second.kind != Shape::kLeftOut &&
                   !Merge(it->second, field, Path{&path, ".", name})) {
          Note(Path{&path, ".", name},
               std::string("holds different types in different elements (") +
                   KindName(it->second.kind) + " and " + KindName(field.kind) + ")");
          it->second = LeftOut("conflicting types");
        }
      }
    }
    return true;
  }

  const policy::Type* TypeOf(const Shape& s, policy::Schema& schema) {
    switch (s.kind) {
      case Shape::kBool:
        return policy::BoolType();
      case Shape::kInt:
        return policy::IntType();
      case Shape::kList:
        return schema.List(s.element.empty() ? policy::StringType() : TypeOf(s.element[0], schema));
      case Shape::kObject: {
        std::vector<std::pair<std::string, const policy::Type*>> fields;
        for (const auto& [name, field] : s.fields) {
          if (field.kind != Shape::kLeftOut) fields.emplace_back(name, TypeOf(field, schema));
        }
        return schema.Object(std::move(fields));
      }
      default:
        return policy::StringType();  // kString, kNumText; nulls never reach here
    }
  }

  // `j` restricted to `s`, with numbers of kNumText as text. Document::Bind
  // checks the result against the schema, so a mismatch is an error there.
  static Json Prune(const Json& j, const Shape& s) {
    if (j.is_null()) return nullptr;
    switch (s.kind) {
      case Shape::kNumText:
        return j.is_number() ? Json(j.dump()) : j;
      case Shape::kList: {
        if (!j.is_array() || s.element.empty()) return j;
        Json out = Json::array();
        for (const Json& e : j) out.push_back(Prune(e, s.element[0]));
        return out;
      }
      case Shape::kObject: {
        if (!j.is_object()) return j;
        Json out = Json::object();
        for (const auto& [name, field] : s.fields) {
          if (field.kind == Shape::kLeftOut) continue;
          const auto found = j.find(name);
          if (found != j.end() && !found->is_null()) out[name] = Prune(*found, field);
        }
        return out;
      }
      default:
        return j;
    }
  }

  std::vector<std::string> names_;  // sorted: every field name the expression reads
  std::vector<std::string> notes_;
};

std::string Quoted(std::string_view expression) {
  constexpr size_t kShown = 120;
  if (expression.size() <= kShown) return "expression \"" + std::string(expression) + "\"";
  return "expression \"" + std::string(expression.substr(0, kShown)) + "...\"";
}

Status NodeError(const policy::Node& n, const std::string& what) {
  return Status::InvalidArgument(std::to_string(n.line) + ":" + std::to_string(n.column) + ": " +
                                 what);
}

// The field names an expression reads, sorted; an error for what automation
// expressions may not use.
Result<std::vector<std::string>> FieldNames(const policy::Expression& e) {
  std::vector<std::string> names;
  for (const policy::Node& n : e.nodes) {
    if (n.kind == policy::NodeKind::kField) names.push_back(n.text);
    // The compiler reads now() from an input field "time", which this
    // document does not have.
    if (n.kind == policy::NodeKind::kCall && n.text == "now") {
      return NodeError(n, "now() is not available in automation expressions");
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Result<Json> Evaluate(std::string_view expression, const RunScope& scope, bool want_bool,
                      const policy::EvalLimits& limits) {
  CL_ASSIGN_OR_RETURN(policy::Expression parsed, policy::ParseExpression(expression));
  CL_ASSIGN_OR_RETURN(std::vector<std::string> names, FieldNames(parsed));
  policy::Schema schema("automation");
  ViewBuilder builder(std::move(names));
  const Json view = builder.Build(scope, schema);
  auto program =
      policy::Compile(std::move(parsed), schema, want_bool ? policy::BoolType() : nullptr);
  if (!program.ok()) {
    const std::string notes = builder.Notes();
    if (notes.empty()) return program.status();
    return Status::InvalidArgument(program.status().message() + " (left out of the view: " + notes +
                                   ")");
  }
  CL_ASSIGN_OR_RETURN(policy::Document doc, policy::Document::Bind(schema, view));
  policy::Evaluator evaluator(limits);
  policy::Value value;
  if (!evaluator.Run(*program, doc, &value)) {
    const std::string& error = evaluator.error();
    if (error.rfind("step budget", 0) == 0 || error.rfind("scratch space", 0) == 0) {
      return Status::ResourceExhausted(error);
    }
    return Status::InvalidArgument(error);
  }
  return policy::ToJson(value, program->type());
}

// "${...}" holding exactly one reference, or "${= EXPR}".
bool IsWholeReference(std::string_view s) {
  return s.size() >= 3 && s.substr(0, 2) == "${" && s.find('}') == s.size() - 1;
}
bool IsWholeExpression(std::string_view s) {
  return s.size() >= 4 && s.substr(0, 3) == "${=" && s.back() == '}';
}

Result<Json> RenderJsonAt(const Json& value, const RunScope& scope, bool allow_secrets,
                          const policy::EvalLimits& limits, int depth) {
  if (depth > 64) return Status::InvalidArgument("value nested deeper than 64 levels");
  if (value.is_object() || value.is_array()) {
    Json out = value.is_object() ? Json::object() : Json::array();
    for (auto it = value.begin(); it != value.end(); ++it) {
      CL_ASSIGN_OR_RETURN(Json item, RenderJsonAt(*it, scope, allow_secrets, limits, depth + 1));
      if (value.is_object()) {
        out[it.key()] = std::move(item);
      } else {
        out.push_back(std::move(item));
      }
    }
    return out;
  }
  if (!value.is_string()) return value;
  const std::string& s = value.get_ref<const std::string&>();
  if (IsWholeExpression(s)) {
    return EvaluateExpression(std::string_view(s).substr(3, s.size() - 4), scope, false, limits);
  }
  if (IsWholeReference(s)) {
    CL_ASSIGN_OR_RETURN(Reference ref,
                        ParseReference(std::string_view(s).substr(2, s.size() - 3), s));
    CL_ASSIGN_OR_RETURN(Resolved r, Resolve(ref, scope, allow_secrets));
    return r.text != nullptr ? Json(*r.text) : *r.json;
  }
  CL_ASSIGN_OR_RETURN(std::string text, RenderText(s, scope, allow_secrets));
  return Json(std::move(text));
}

}  // namespace

Result<std::string> RenderText(std::string_view text, const RunScope& scope, bool allow_secrets) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = text.find('$', i);
    if (at == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, at - i));
    if (text.substr(at, 3) == "$${") {
      out += "${";
      i = at + 3;
      continue;
    }
    if (at + 1 >= text.size() || text[at + 1] != '{') {
      out += '$';
      i = at + 1;
      continue;
    }
    const size_t end = text.find('}', at + 2);
    if (end == std::string_view::npos) {
      return RefError(text.substr(at, 40), "unterminated reference (no \"}\")");
    }
    const std::string_view written = text.substr(at, end - at + 1);
    const std::string_view body = text.substr(at + 2, end - at - 2);
    if (!body.empty() && body[0] == '=') {
      return RefError(written,
                      "an expression ${= ...} must be the whole value, not part of a text");
    }
    CL_ASSIGN_OR_RETURN(Reference ref, ParseReference(body, written));
    CL_ASSIGN_OR_RETURN(Resolved r, Resolve(ref, scope, allow_secrets));
    CL_RETURN_IF_ERROR(AppendResolved(ref, r, out));
    i = end + 1;
  }
  return out;
}

Result<Json> RenderJson(const Json& value, const RunScope& scope, bool allow_secrets,
                        const policy::EvalLimits& limits) {
  return RenderJsonAt(value, scope, allow_secrets, limits, 0);
}

Result<Json> EvaluateExpression(std::string_view expression, const RunScope& scope, bool want_bool,
                                const policy::EvalLimits& limits) {
  auto result = Evaluate(expression, scope, want_bool, limits);
  if (!result.ok()) return result.status().Annotate(Quoted(expression));
  return result;
}

}  // namespace cloister::runtime
