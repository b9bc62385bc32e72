#include "appliance/storage/id_prefix.h"

#include <algorithm>

namespace cloister {
namespace {

constexpr size_t kMaxCandidatesListed = 10;

bool IsIdText(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
  });
}

}  // namespace

std::vector<std::string> IdsNamedBy(const std::string& text, const std::vector<std::string>& candidates) {
  if (std::find(candidates.begin(), candidates.end(), text) != candidates.end()) return {text};
  std::vector<std::string> out;
  if (text.size() < kMinIdPrefix) return out;
  for (const std::string& c : candidates) {
    if (c.size() > text.size() && c.compare(0, text.size(), text) == 0) out.push_back(c);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::string> ResolveIdAmong(const std::string& text, const std::vector<std::string>& candidates,
                                   const std::string& noun) {
  const std::vector<std::string> named = IdsNamedBy(text, candidates);
  if (named.empty()) {
    return Status::NotFound("no " + noun + " " + text +
                            (text.size() < kMinIdPrefix ? " (a prefix needs at least " + std::to_string(kMinIdPrefix) +
                                                              " characters)"
                                                        : ""));
  }
  if (named.size() == 1) return named.front();
  std::string list;
  for (size_t i = 0; i < named.size() && i < kMaxCandidatesListed; ++i) list += (i ? ", " : "") + named[i];
  if (named.size() > kMaxCandidatesListed) list += ", ...";
  const std::vector<std::string> shown(named.begin(), named.begin() + std::min(named.size(), kMaxCandidatesListed));
  return Status::Conflict(noun + " id prefix " + text + " is ambiguous: it matches " + list +
                          "; give more characters")
      .WithReason("ambiguous_id")
      .WithDetails({{"candidates", shown}});
}

Result<std::string> ResolveId(ReadView db, std::string_view table, std::string_view column,
                              const std::string& text, const std::string& noun) {
  std::vector<std::string> found;
  if (IsIdText(text)) {
    // [text, text with its last character incremented): every value with the
    // prefix, and the exact one. The characters are ASCII below '~'.
    std::string upper = text;
    ++upper.back();
    const std::string col(column);
    CL_ASSIGN_OR_RETURN(found, db.Select(table, "SELECT " + col + " FROM " + std::string(table) + " WHERE " + col +
                                                    " >= ? AND " + col + " < ? ORDER BY " + col + " LIMIT ?")
                                   .Bind(1, text)
                                   .Bind(2, upper)
                                   .Bind(3, static_cast<int64_t>(kMaxCandidatesListed + 1))
                                   .ReadAll([](const Row& row) { return row.Text(0); }));
  }
  return ResolveIdAmong(text, found, noun);
}

}  // namespace cloister
