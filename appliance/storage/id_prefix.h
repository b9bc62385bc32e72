// Ids given by a unique prefix, as git accepts abbreviated object names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/status.h"
#include "appliance/storage/rows.h"

namespace cloister {

// The shortest prefix that is looked up as one; shorter text must be a whole id.
constexpr size_t kMinIdPrefix = 8;

// Which ids in `candidates` `text` names: the one equal to it, or else every
// one it is a prefix of when it has at least kMinIdPrefix characters. Pure.
std::vector<std::string> IdsNamedBy(const std::string& text, const std::vector<std::string>& candidates);

// The one id `text` names among `candidates` (IdsNamedBy): not_found naming
// `noun` when none; conflict with reason "ambiguous_id" listing them (message
// and details {"candidates": [...]}, at most 10) when several.
Result<std::string> ResolveIdAmong(const std::string& text, const std::vector<std::string>& candidates,
                                   const std::string& noun);

// The one value of `column` in `table` that `text` names: itself when stored,
// else the unique stored value it is a prefix of (at least kMinIdPrefix
// characters of [0-9A-Za-z_-]), read as one range of the column's index.
// Errors as ResolveIdAmong. `table` and `column` are the caller's constants,
// never input.
Result<std::string> ResolveId(ReadView db, std::string_view table, std::string_view column,
                              const std::string& text, const std::string& noun);

}  // namespace cloister
